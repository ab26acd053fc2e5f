import { sql } from 'drizzle-orm';
import { bigserial, index, integer, pgSchema, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { bytea } from '../../db/types.js';

/** The `outbox` schema: what the gateway owes a remote PMH (transactional outbox). */
export const outboxSchema = pgSchema('outbox');

/** Where a record is on its way to the remote PMH. */
export const DELIVERY_STATES = ['queued', 'sent', 'accepted', 'rejected', 'given-up'] as const;
/** One of {@link DELIVERY_STATES}. */
export type DeliveryState = (typeof DELIVERY_STATES)[number];

/** Where a queued record came from. */
export const SOURCE_KINDS = ['registration', 'linkage-file'] as const;
/** One of {@link SOURCE_KINDS}. */
export type SourceKind = (typeof SOURCE_KINDS)[number];

/** A JSON registration accepted for delivery (`registerSubjects` in remote mode). */
export const outboxSubmissions = outboxSchema.table(
  'submissions',
  {
    id: uuid('id').primaryKey(),
    tenantCode: text('tenant_code').notNull(),
    businessId: text('business_id').notNull(),
    clientId: text('client_id').notNull(),
    requestId: text('request_id'),
    recordCount: integer('record_count').notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('outbox_submissions_tenant').on(t.tenantCode, t.businessId, t.receivedAt)],
);

/**
 * One record owed to the remote PMH. `sealed` holds the record under the tenant key until
 * PMH has answered for it (then it is cleared: the gateway keeps no copy of delivered data).
 */
export const outboxMessages = outboxSchema.table(
  'messages',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    tenantCode: text('tenant_code').notNull(),
    businessId: text('business_id').notNull(),
    clientId: text('client_id').notNull(),
    sourceKind: text('source_kind').$type<SourceKind>().notNull(),
    sourceId: uuid('source_id').notNull(),
    sourceIndex: integer('source_index').notNull(),
    sealed: bytea('sealed'),
    state: text('state').$type<DeliveryState>().notNull(),
    batchId: uuid('batch_id'),
    batchPos: integer('batch_pos'),
    attempts: integer('attempts').notNull().default(0),
    outcome: text('outcome'),
    subjectId: uuid('subject_id'),
    errors: text('errors'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    uniqueIndex('outbox_messages_source').on(t.sourceKind, t.sourceId, t.sourceIndex),
    index('outbox_messages_queued')
      .on(t.tenantCode, t.businessId, t.id)
      .where(sql`state = 'queued' and batch_id is null`),
    index('outbox_messages_batch').on(t.batchId, t.batchPos),
    index('outbox_messages_subject').on(t.subjectId),
    index('outbox_messages_open').on(t.createdAt).where(sql`state in ('queued', 'sent')`),
    index('outbox_messages_given_up').on(t.tenantCode, t.businessId).where(sql`state = 'given-up'`),
  ],
);

/**
 * A batch sent to PMH. Its id is the idempotency key of every attempt, so a retried or
 * resumed batch is applied once. One open batch per tenant and business keeps records in order.
 */
export const outboxBatches = outboxSchema.table(
  'batches',
  {
    id: uuid('id').primaryKey(),
    tenantCode: text('tenant_code').notNull(),
    businessId: text('business_id').notNull(),
    state: text('state').$type<'open' | 'done'>().notNull(),
    recordCount: integer('record_count').notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull(),
    leaseOwner: text('lease_owner'),
    leaseUntil: timestamp('lease_until', { withTimezone: true }),
    lastError: text('last_error'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    completedAt: timestamp('completed_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('outbox_batches_one_open').on(t.tenantCode, t.businessId).where(sql`state = 'open'`),
    index('outbox_batches_due').on(t.nextAttemptAt).where(sql`state = 'open'`),
  ],
);
