import { index, pgSchema, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { bytea } from '../../db/types.js';

/** The `agency` schema: the agency servers (中間サーバー) and the exchange between them. */
export const agencySchema = pgSchema('agency');

/** Agencies known to the exchange, with the certificate answers to them are encrypted for. */
export const agencies = agencySchema.table('agencies', {
  agencyId: text('agency_id').primaryKey(),
  name: text('name').notNull(),
  certPem: text('cert_pem').notNull(),
  registeredAt: timestamp('registered_at', { withTimezone: true }).notNull(),
});

/**
 * 符号 (provision codes): one per agency and person, keyed with a per-agency key so that two
 * agencies' codes for one person cannot be joined — only the exchange, through `personDigest`,
 * converts one agency's code into another's.
 */
export const provisionCodes = agencySchema.table(
  'provision_codes',
  {
    agencyId: text('agency_id').notNull(),
    code: text('code').notNull(),
    personDigest: bytea('person_digest').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.agencyId, t.code] }),
    index('provision_codes_person').on(t.personDigest, t.agencyId),
  ],
);

/** 副本 (replicas): one data item of one person at the providing agency, sealed with its key. */
export const replicas = agencySchema.table(
  'replicas',
  {
    providerId: text('provider_id').notNull(),
    code: text('code').notNull(),
    itemCode: text('item_code').notNull(),
    sealed: bytea('sealed').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.providerId, t.code, t.itemCode] })],
);

/** Where an inquiry is. */
export const INQUIRY_STATUSES = ['refused', 'awaiting-release', 'answered', 'refused-by-provider'] as const;
/** One of {@link INQUIRY_STATUSES}. */
export type InquiryStatus = (typeof INQUIRY_STATUSES)[number];

/** An inquiry (情報照会) with its permit, its state and — once answered — the answer sealed for the requester. */
export const inquiries = agencySchema.table(
  'inquiries',
  {
    id: uuid('id').primaryKey(),
    requestId: text('request_id').notNull(),
    requesterId: text('requester_id').notNull(),
    providerId: text('provider_id').notNull(),
    procedure: text('procedure').notNull(),
    items: text('items').notNull(),
    status: text('status').$type<InquiryStatus>().notNull(),
    reason: text('reason'),
    permitId: text('permit_id'),
    entryId: text('entry_id'),
    providerCode: text('provider_code'),
    pendingItems: text('pending_items'),
    answer: text('answer'),
    decidedBy: text('decided_by'),
    /** Operators who approved a held answer so far (four-eyes: two different people release it). */
    approvals: text('approvals'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    completedAt: timestamp('completed_at', { withTimezone: true }),
  },
  (t) => [
    index('inquiries_provider_status').on(t.providerId, t.status),
    index('inquiries_completed').on(t.completedAt),
  ],
);
