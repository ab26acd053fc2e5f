import { pgSchema, text, timestamp } from 'drizzle-orm/pg-core';
import { bytea } from '../db/types.js';

/** The `identity` schema: system clients (and, later, staff users). */
export const identitySchema = pgSchema('identity');

/**
 * A system client: a case system bound to exactly one tenant and one business (自治体業務ID).
 * Only the SHA-256 of its bearer token is stored.
 */
export const apiClients = identitySchema.table('api_clients', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  tenantCode: text('tenant_code').notNull(),
  businessId: text('business_id').notNull(),
  tokenHash: bytea('token_hash').notNull().unique(),
  scopes: text('scopes').array().notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
});
