import { pgSchema, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { bytea } from '../../db/types.js';

/** The `insurer` schema: the insurers' intermediate server's own store (医療保険者等向け中間サーバー). */
export const insurerSchema = pgSchema('insurer');

/**
 * An insured person (被保険者) as the intermediate server holds them: 個人番号 and basic
 * information sealed with the server's own data key, found by a keyed blind index.
 */
export const insuredPersons = insurerSchema.table(
  'insured_persons',
  {
    id: uuid('id').primaryKey(),
    myNumberIndex: bytea('my_number_index').notNull().unique(),
    sealed: bytea('sealed').notNull(),
    bindingNumber: text('binding_number').notNull().unique(),
    insurerNumber: text('insurer_number').notNull(),
  },
  // No index on insurer_number: no query reads by it. A person's PMH-ID is its link
  // (eligibility_links, by binding number): numbering inserts the link and leaves the person's
  // row as it is (migration 0014; it was also written on the person, one more row version each).
);

/**
 * PMH-ID ↔ 紐付番号 links handed to the online eligibility system (seed ㉗); the lookups
 * issue consumes them.
 */
export const eligibilityLinks = insurerSchema.table(
  'eligibility_links',
  {
    pmhId: text('pmh_id').primaryKey(),
    bindingNumber: text('binding_number').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
  },
  // One PMH-ID per person: the binding number is unique (migration 0014).
  (t) => [uniqueIndex('eligibility_links_binding').on(t.bindingNumber)],
);

/**
 * Answers to numbering requests by idempotency key: a retried batch never assigns twice. The
 * answer carries each 個人番号, so it is sealed with the server's data key (migration 0012).
 */
export const numberingRequests = insurerSchema.table('numbering_requests', {
  idempotencyKey: text('idempotency_key').primaryKey(),
  sealed: bytea('sealed').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
});
