import { integer, pgSchema, text, timestamp } from 'drizzle-orm/pg-core';
import { bytea } from '../db/types.js';

/** The `keys` schema: the master key's check value and each tenant's wrapped data key. */
export const keysSchema = pgSchema('keys');

/** One row: the key-check value of the master key this database was initialised with. */
export const masterKeyCheck = keysSchema.table('master_key_check', {
  id: integer('id').primaryKey(),
  kcv: bytea('kcv').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Per-tenant AES-256 data keys, wrapped (AES-256-GCM) with a key derived from the master key. */
export const tenantKeys = keysSchema.table('tenant_keys', {
  scope: text('scope').primaryKey(),
  wrapped: bytea('wrapped').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});
