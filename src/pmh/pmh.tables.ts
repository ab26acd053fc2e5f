import { sql } from 'drizzle-orm';
import {
  boolean,
  date,
  index,
  integer,
  pgSchema,
  primaryKey,
  text,
  timestamp,
  unique,
  uuid,
} from 'drizzle-orm/pg-core';
import { bytea } from '../db/types.js';

/** The `hub` schema: the Public Medical Hub's own store. */
export const hubSchema = pgSchema('hub');

/** A municipality tenant (自治体), keyed by its 6-digit 全国地方公共団体コード. */
export const tenants = hubSchema.table('tenants', {
  municipalityCode: text('municipality_code').primaryKey(),
  name: text('name').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * 対象者情報: a person registered for a business in a tenant. 個人番号 and 基本5情報 live only
 * in `sealed` (AES-256-GCM, tenant key); lookup is by the keyed blind index. Pages are kept half
 * free (fillfactor 50, migration 0015) so that numbering's update of each row is HOT.
 */
export const subjects = hubSchema.table(
  'subjects',
  {
    id: uuid('id').primaryKey(),
    tenantCode: text('tenant_code').notNull(),
    businessId: text('business_id').notNull(),
    myNumberIndex: bytea('my_number_index').notNull(),
    sealed: bytea('sealed').notNull(),
    digest: bytea('digest').notNull(),
    pmhId: text('pmh_id'),
    isNotDisclosed: boolean('is_not_disclosed').notNull().default(false),
    viewingSuspended: boolean('viewing_suspended').notNull().default(false),
    /** Set when 閲覧停止 came from a failed cross-check, so a later success lifts it (and only then). */
    suspendedByCrossCheck: boolean('suspended_by_cross_check').notNull().default(false),
    numberingStatus: text('numbering_status').$type<NumberingStatus>().notNull().default('pending'),
    numberingReasons: text('numbering_reasons'),
    /** Counts the times the subject was queued again for numbering (an answer is kept only for the latest). */
    numberingGeneration: integer('numbering_generation').notNull().default(0),
    numberedAt: timestamp('numbered_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  },
  (t) => [unique('subjects_tenant_business_index').on(t.tenantCode, t.businessId, t.myNumberIndex)],
);

/** Where a subject is in PMH-ID numbering (seed ㉗). */
export const NUMBERING_STATUSES = [
  'pending',
  'retrying',
  'numbered',
  'cross-check-failed',
  'not-found',
  'given-up',
] as const;
/** One of {@link NUMBERING_STATUSES}. */
export type NumberingStatus = (typeof NUMBERING_STATUSES)[number];

/**
 * Subjects waiting for a PMH-ID, oldest first. A claim moves them, in the same transaction,
 * into one {@link numberingBatches} row: a waiting row is written once and deleted once.
 */
export const numberingQueue = hubSchema.table(
  'numbering_queue',
  {
    subjectId: uuid('subject_id')
      .primaryKey()
      .references(() => subjects.id, { onDelete: 'cascade' }),
    tenantCode: text('tenant_code').notNull(),
    enqueuedAt: timestamp('enqueued_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('numbering_queue_enqueued').on(t.enqueuedAt)],
);

/**
 * Claimed batches on their way to the intermediate server: one row per batch, holding its
 * subjects in the order sent and each one's {@link subjects.numberingGeneration} when it was
 * claimed. The `batchId` is the idempotency key sent, kept across retries, so a retried batch
 * never assigns twice; an answer is recorded only for a subject still at the generation sent
 * (one registered again meanwhile is left to a later batch).
 */
export const numberingBatches = hubSchema.table(
  'numbering_batches',
  {
    batchId: text('batch_id').primaryKey(),
    tenantCode: text('tenant_code').notNull(),
    subjectIds: uuid('subject_ids').array().notNull(),
    generations: integer('generations').array().notNull(),
    attempts: integer('attempts').notNull().default(0),
    /** The end of the lease while a call is under way, or when the next attempt is due. */
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull(),
    lastError: text('last_error'),
    claimedAt: timestamp('claimed_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('numbering_batches_due').on(t.nextAttemptAt)],
);

/** 医療助成資格情報: one entitlement of a subject; its content sealed with the tenant key. */
export const entitlements = hubSchema.table(
  'entitlements',
  {
    id: uuid('id').primaryKey(),
    subjectId: uuid('subject_id')
      .notNull()
      .references(() => subjects.id, { onDelete: 'cascade' }),
    tenantCode: text('tenant_code').notNull(),
    orgSpecificCertificateTypeId: text('org_specific_certificate_type_id').notNull(),
    certificationSubKey: text('certification_sub_key').notNull().default(''),
    sealed: bytea('sealed').notNull(),
    digest: bytea('digest').notNull(),
    validFrom: date('valid_from').notNull(),
    validTo: date('valid_to'),
    forcedExpiryDate: date('forced_expiry_date'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
    /**
     * The read-model face of this entitlement as the row stands, sealed with the read-model key
     * when the row was written (so numbering copies it instead of opening and sealing), or null.
     * An update that does not set it nulls it (trigger, migration 0010): never stale.
     */
    face: bytea('face'),
  },
  (t) => [
    unique('entitlements_key').on(t.subjectId, t.orgSpecificCertificateTypeId, t.certificationSubKey),
    // The few entitlements without a stored face, by subject: numbering asks for them per batch,
    // and without this it read every entitlement of the batch's subjects to find none.
    index('entitlements_face_missing').on(t.subjectId).where(sql`${t.face} is null`),
  ],
);

/**
 * Answers to idempotent submissions: a retried batch (same key) gets the stored answer and
 * changes nothing twice. Written in the same transaction as the changes.
 */
export const submissions = hubSchema.table(
  'submissions',
  {
    tenantCode: text('tenant_code').notNull(),
    idempotencyKey: text('idempotency_key').notNull(),
    results: text('results').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().default(sql`now()`),
    recordCount: integer('record_count').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantCode, t.idempotencyKey] })],
);

/**
 * The read model clinics and the portal are answered from, keyed by PMH-ID across tenants
 * (the one cross-tenant read the product has). It holds no 個人番号 and no basic information:
 * only each entitlement's certificate face, sealed with the read-model key, and the flags and
 * dates the lookup filters on.
 */
export const entitlementIndex = hubSchema.table(
  'entitlement_index',
  {
    entitlementId: uuid('entitlement_id').primaryKey(),
    pmhId: text('pmh_id').notNull(),
    tenantCode: text('tenant_code').notNull(),
    subjectId: uuid('subject_id')
      .notNull()
      .references(() => subjects.id, { onDelete: 'cascade' }),
    sealed: bytea('sealed').notNull(),
    isNotDisclosed: boolean('is_not_disclosed').notNull(),
    viewingSuspended: boolean('viewing_suspended').notNull(),
    validFrom: date('valid_from').notNull(),
    validTo: date('valid_to'),
    forcedExpiryDate: date('forced_expiry_date'),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('entitlement_index_pmh_id').on(t.pmhId), index('entitlement_index_subject').on(t.subjectId)],
);

/** Linkage keys already used (their nonce), so each opens one lookup only — kept until they expire. */
export const usedLinkageKeys = hubSchema.table('used_linkage_keys', {
  jti: text('jti').primaryKey(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
});

/** PMH仮名識別子: the portal's pseudonym for a person, mapped to the PMH-ID inside the hub only. */
export const pseudonyms = hubSchema.table('pseudonyms', {
  pseudonym: text('pseudonym').primaryKey(),
  pmhId: text('pmh_id').notNull(),
  /** HMAC of the card's certificate serial (not the serial itself). */
  cardSerialDigest: bytea('card_serial_digest').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
});
