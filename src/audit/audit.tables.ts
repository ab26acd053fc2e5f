import { bigint, pgSchema, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { bytea } from '../db/types.js';

/** The `audit` schema: the append-only, hash-chained log (アクセスログ), one chain per tenant. */
export const auditSchema = pgSchema('audit');

/**
 * One audit entry. UPDATE, DELETE and TRUNCATE are refused by triggers (migration 0001);
 * `hash` = SHA-256 over `prev_hash` and the entry, so an edit, deletion or reordering shows.
 */
export const auditEntries = auditSchema.table(
  'entries',
  {
    tenantCode: text('tenant_code').notNull(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    at: timestamp('at', { withTimezone: true, precision: 3 }).notNull(),
    actorKind: text('actor_kind').notNull(),
    actorId: text('actor_id').notNull(),
    action: text('action').notNull(),
    subjectRef: text('subject_ref'),
    requestId: text('request_id'),
    detail: text('detail'),
    prevHash: bytea('prev_hash').notNull(),
    hash: bytea('hash').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantCode, t.seq] })],
);

/** The head of each tenant's chain; locked FOR UPDATE by every transaction that appends. */
export const auditHeads = auditSchema.table('heads', {
  tenantCode: text('tenant_code').primaryKey(),
  seq: bigint('seq', { mode: 'number' }).notNull(),
  hash: bytea('hash').notNull(),
});
