import { bigserial, index, integer, pgSchema, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { bytea } from '../../db/types.js';

/** The `intake` schema: the gateway's own store of linkage files (連携ファイル). */
export const intakeSchema = pgSchema('intake');

/** Where a linkage file is in its life. */
export const LINKAGE_STATUSES = ['uploading', 'received', 'processing', 'completed', 'failed'] as const;
/** One of {@link LINKAGE_STATUSES}. */
export type LinkageStatus = (typeof LINKAGE_STATUSES)[number];

/** A linkage file: its header data, progress (the resume cursor) and counts. */
export const linkageFiles = intakeSchema.table(
  'linkage_files',
  {
    id: uuid('id').primaryKey(),
    seq: bigserial('seq', { mode: 'number' }).notNull().unique(),
    tenantCode: text('tenant_code').notNull(),
    businessId: text('business_id').notNull(),
    clientId: text('client_id').notNull(),
    fileName: text('file_name').notNull(),
    encoding: text('encoding'),
    byteSize: integer('byte_size').notNull().default(0),
    chunkCount: integer('chunk_count').notNull().default(0),
    status: text('status').$type<LinkageStatus>().notNull(),
    cursorRow: integer('cursor_row').notNull().default(0),
    totalRows: integer('total_rows'),
    created: integer('created').notNull().default(0),
    updated: integer('updated').notNull().default(0),
    unchanged: integer('unchanged').notNull().default(0),
    deleted: integer('deleted').notNull().default(0),
    notFound: integer('not_found').notNull().default(0),
    rejected: integer('rejected').notNull().default(0),
    /** Rows waiting for the remote PMH's answer (remote mode). */
    queued: integer('queued').notNull().default(0),
    /** Rows whose delivery to the remote PMH was given up (remote mode). */
    givenUp: integer('given_up').notNull().default(0),
    resumeCount: integer('resume_count').notNull().default(0),
    lastResumedFrom: integer('last_resumed_from'),
    leaseOwner: text('lease_owner'),
    leaseUntil: timestamp('lease_until', { withTimezone: true }),
    failure: text('failure'),
    requestId: text('request_id'),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    completedAt: timestamp('completed_at', { withTimezone: true }),
  },
  (t) => [index('linkage_files_tenant_status').on(t.tenantCode, t.status, t.seq)],
);

/** The stored body, in chunks sealed with the tenant key (never in clear on disk). */
export const linkageFileChunks = intakeSchema.table(
  'linkage_file_chunks',
  {
    fileId: uuid('file_id')
      .notNull()
      .references(() => linkageFiles.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    sealed: bytea('sealed').notNull(),
  },
  (t) => [primaryKey({ columns: [t.fileId, t.seq] })],
);

/**
 * One outcome per data row. `keyDigest` (keyed HMAC of 個人番号 + certificate key) finds a
 * key repeated inside the file; it is not the 個人番号 and cannot be reversed without the key.
 *
 * `fileId` has no foreign key (migration 0017): rows are written only by the worker holding the
 * file's lease, in the transaction that moves its cursor, and a file is never deleted once it
 * has rows (only an upload that fails before it is stored is removed). The key's check cost
 * PostgreSQL a query and a row lock per outcome, ~12 ms of each 1,000-row batch.
 */
export const linkageFileRows = intakeSchema.table(
  'linkage_file_rows',
  {
    fileId: uuid('file_id').notNull(),
    rowNo: integer('row_no').notNull(),
    line: integer('line').notNull(),
    outcome: text('outcome').notNull(),
    subjectId: uuid('subject_id'),
    keyDigest: bytea('key_digest'),
    errors: text('errors'),
  },
  (t) => [
    primaryKey({ columns: [t.fileId, t.rowNo] }),
    index('linkage_file_rows_key').on(t.fileId, t.keyDigest),
  ],
);
