import { and, eq, sql } from 'drizzle-orm';
import type { ScopeKeys } from '../crypto/index.js';
import { openJson, sealJson, sealText } from '../crypto/index.js';
import { bulkDelete, bulkInsert, bulkUpdate, findEachByKey, keysWhere } from '../db/bulk.js';
import type { Db } from '../db/client.js';
import { entitlementContext, subjectContext } from './pmh.prepare.js';
import { entitlements, subjects } from './pmh.tables.js';

/** What is sealed in a subject row. */
export interface SubjectSecret {
  myNumber: string;
  municipalityIdentityKey?: string | undefined;
  basicFiveInfo: { name: string; nameKana: string; address: string; dateOfBirth: string; sex: string };
}

/** What is sealed in an entitlement row: the record less the subject's fields. */
export type EntitlementSecret = Record<string, unknown> & {
  certificationName: string;
  medicalSubsidyInsurerNumber: string;
  medicalSubsidyRecipientNumber: string;
  validFrom: string;
};

export type SubjectRow = typeof subjects.$inferSelect;

const SUBJECT_COLUMNS = {
  id: 'uuid',
  tenant_code: 'text',
  business_id: 'text',
  my_number_index: 'bytea',
  sealed: 'bytea',
  digest: 'bytea',
  is_not_disclosed: 'boolean',
  created_at: 'timestamptz',
  updated_at: 'timestamptz',
} as const;
const QUEUE_COLUMNS = {
  subject_id: 'uuid',
  tenant_code: 'text',
  enqueued_at: 'timestamptz',
} as const;
const SUBJECT_CHANGE_COLUMNS = {
  id: 'uuid',
  sealed: 'bytea',
  digest: 'bytea',
  is_not_disclosed: 'boolean',
  updated_at: 'timestamptz',
} as const;
const ENTITLEMENT_COLUMNS = {
  id: 'uuid',
  subject_id: 'uuid',
  tenant_code: 'text',
  org_specific_certificate_type_id: 'text',
  certification_sub_key: 'text',
  sealed: 'bytea',
  digest: 'bytea',
  valid_from: 'date',
  valid_to: 'date',
  forced_expiry_date: 'date',
  created_at: 'timestamptz',
  updated_at: 'timestamptz',
  face: 'bytea',
} as const;
const ENTITLEMENT_CHANGE_COLUMNS = {
  id: 'uuid',
  sealed: 'bytea',
  digest: 'bytea',
  valid_from: 'date',
  valid_to: 'date',
  forced_expiry_date: 'date',
  updated_at: 'timestamptz',
  face: 'bytea',
} as const;

/** A new subject row (column names as in the table). */
export interface SubjectInsert {
  id: string;
  my_number_index: Buffer;
  sealed: Buffer;
  digest: Buffer;
  is_not_disclosed: boolean;
  created_at: Date;
  updated_at: Date;
}
/** A changed subject row. */
export interface SubjectChange {
  id: string;
  sealed: Buffer;
  digest: Buffer;
  is_not_disclosed: boolean;
  updated_at: Date;
}
/** A new entitlement row. */
export interface EntitlementInsert extends EntitlementChange {
  subject_id: string;
  org_specific_certificate_type_id: string;
  certification_sub_key: string;
  created_at: Date;
}
/** A changed entitlement row. */
export interface EntitlementChange {
  id: string;
  sealed: Buffer;
  digest: Buffer;
  valid_from: string;
  valid_to: string | null;
  forced_expiry_date: string | null;
  updated_at: Date;
  /** The read-model face as the row will stand (see `hub.entitlements.face`). */
  face: Buffer;
}
export type EntitlementRow = typeof entitlements.$inferSelect;
const ENTITLEMENT_KEY_FIELDS = [
  'id',
  'subjectId',
  'orgSpecificCertificateTypeId',
  'certificationSubKey',
  'digest',
] as const;
/** The part of an entitlement row a registration compares (see `entitlementKeysOf`). */
export type EntitlementKeyRow = Pick<EntitlementRow, (typeof ENTITLEMENT_KEY_FIELDS)[number]>;

/**
 * A tenant's entitlements of the given subjects (all columns, or only `fields`), one index probe
 * per subject ({@link findEachByKey}). The repository and the read model's refresh read them so.
 *
 * @example
 * const rows = await entitlementsOfSubjects(tx, '130001', subjectIds);
 */
export function entitlementsOfSubjects<
  K extends keyof EntitlementRow & string = keyof EntitlementRow & string,
>(
  db: Db,
  tenantCode: string,
  subjectIds: readonly string[],
  fields?: readonly K[],
): Promise<Pick<EntitlementRow, K>[]> {
  return findEachByKey(
    db,
    entitlements,
    subjectIds,
    'uuid',
    (k) => and(eq(entitlements.tenantCode, tenantCode), eq(entitlements.subjectId, k)),
    fields ? { perKey: 'many', fields } : { perKey: 'many' },
  );
}

/**
 * The hub's store for one tenant and business. There is no way to ask it about another
 * tenant: the tenant is fixed when it is built (STYLE rule 5).
 *
 * @example
 * const repo = new SubjectRepository(tx, '130001', 'jiritsu-seishin', keys);
 */
export class SubjectRepository {
  constructor(
    readonly db: Db,
    readonly tenantCode: string,
    readonly businessId: string,
    readonly keys: ScopeKeys,
  ) {}

  #own() {
    return and(eq(subjects.tenantCode, this.tenantCode), eq(subjects.businessId, this.businessId));
  }

  subjectContext(id: string): string {
    return subjectContext(this.tenantCode, id);
  }

  entitlementContext(id: string): string {
    return entitlementContext(this.tenantCode, id);
  }

  /** Seals a subject's secret (or its JSON text, when the caller already has it). */
  sealSubject(id: string, secret: SubjectSecret | string): Buffer {
    const context = this.subjectContext(id);
    return typeof secret === 'string'
      ? sealText(this.keys.dataKey, secret, context)
      : sealJson(this.keys.dataKey, secret, context);
  }

  openSubject(row: SubjectRow): SubjectSecret {
    return openJson<SubjectSecret>(this.keys.dataKey, row.sealed, this.subjectContext(row.id));
  }

  /** Seals an entitlement's secret (or its JSON text). */
  sealEntitlement(id: string, secret: EntitlementSecret | string): Buffer {
    const context = this.entitlementContext(id);
    return typeof secret === 'string'
      ? sealText(this.keys.dataKey, secret, context)
      : sealJson(this.keys.dataKey, secret, context);
  }

  openEntitlement(row: EntitlementRow): EntitlementSecret {
    return openJson<EntitlementSecret>(this.keys.dataKey, row.sealed, this.entitlementContext(row.id));
  }

  async findByIndexes(indexes: readonly Buffer[]): Promise<SubjectRow[]> {
    return findEachByKey(this.db, subjects, indexes, 'bytea', (k) =>
      and(this.#own(), eq(subjects.myNumberIndex, k)),
    );
  }

  async findById(id: string, forUpdate = false): Promise<SubjectRow | undefined> {
    const q = this.db
      .select()
      .from(subjects)
      .where(and(this.#own(), eq(subjects.id, id)));
    const [row] = forUpdate ? await q.for('update') : await q;
    return row;
  }

  async entitlementsOf(subjectIds: readonly string[]): Promise<EntitlementRow[]> {
    return entitlementsOfSubjects(this.db, this.tenantCode, subjectIds);
  }

  /**
   * What a registration compares of the subjects' entitlements: key, id and digest, without the
   * sealed parts and faces (~1.2 KB a row that it would only read and drop).
   */
  async entitlementKeysOf(subjectIds: readonly string[]): Promise<EntitlementKeyRow[]> {
    return entitlementsOfSubjects(this.db, this.tenantCode, subjectIds, ENTITLEMENT_KEY_FIELDS);
  }

  /**
   * Writes a batch's new subjects and entitlements (binary COPY for more than a few) and queues
   * subjects for numbering. New subjects start `pending`; only subjects that already existed
   * are set back to `pending` here.
   */
  async insertAndEnqueue(input: {
    subjects: SubjectInsert[];
    entitlements: EntitlementInsert[];
    /** Subjects to (re)number: the new ones and existing ones whose 個人番号 or basic information changed. */
    toNumber: readonly string[];
    /** The part of `toNumber` that existed before this batch. */
    reNumbered: readonly string[];
    now: Date;
  }): Promise<void> {
    const { tenantCode, businessId } = this;
    await bulkInsert(
      this.db,
      'hub.subjects',
      SUBJECT_COLUMNS,
      input.subjects.map((r) => ({ ...r, tenant_code: tenantCode, business_id: businessId })),
    );
    await bulkInsert(
      this.db,
      'hub.entitlements',
      ENTITLEMENT_COLUMNS,
      input.entitlements.map((r) => ({ ...r, tenant_code: tenantCode })),
    );
    const existed = new Set(input.reNumbered);
    await bulkInsert(
      this.db,
      'hub.numbering_queue',
      QUEUE_COLUMNS,
      input.toNumber
        .filter((id) => !existed.has(id))
        .map((id) => ({
          subject_id: id,
          tenant_code: tenantCode,
          enqueued_at: input.now,
        })),
    );
    if (input.reNumbered.length === 0) return;
    // Subjects that existed: queued again (or anew) and set back to pending, in one statement. A
    // new generation: an answer on its way for the subject as it was is not recorded.
    const now = input.now.toISOString();
    await this.db.execute(
      sql`with queued as (
            insert into hub.numbering_queue (subject_id, tenant_code, enqueued_at)
            select v::uuid, ${tenantCode}::text, ${now}::timestamptz
              from jsonb_array_elements_text(${JSON.stringify(input.reNumbered)}::jsonb) as t(v)
            on conflict (subject_id) do update set enqueued_at = excluded.enqueued_at)
          update hub.subjects target
             set numbering_status = 'pending', numbering_generation = target.numbering_generation + 1
            from ${keysWhere('hub.subjects', 'id', input.reNumbered, 'uuid', sql`t.tenant_code = ${tenantCode}`)} as x
           where target.id = x.v`,
    );
  }

  async updateSubjects(rows: SubjectChange[]): Promise<void> {
    await bulkUpdate(
      this.db,
      'hub.subjects',
      'id',
      SUBJECT_CHANGE_COLUMNS,
      rows,
      sql`t.tenant_code = ${this.tenantCode} and t.business_id = ${this.businessId}`,
    );
  }

  async updateEntitlements(rows: EntitlementChange[]): Promise<void> {
    await bulkUpdate(
      this.db,
      'hub.entitlements',
      'id',
      ENTITLEMENT_CHANGE_COLUMNS,
      rows,
      sql`t.tenant_code = ${this.tenantCode}`,
    );
  }

  async updateSubject(id: string, set: Partial<typeof subjects.$inferInsert>): Promise<void> {
    await this.db
      .update(subjects)
      .set(set)
      .where(and(this.#own(), eq(subjects.id, id)));
  }

  async updateEntitlement(id: string, set: Partial<typeof entitlements.$inferInsert>): Promise<void> {
    await this.db
      .update(entitlements)
      .set(set)
      .where(and(eq(entitlements.tenantCode, this.tenantCode), eq(entitlements.id, id)));
  }

  async deleteEntitlements(ids: readonly string[]): Promise<void> {
    await bulkDelete(this.db, 'hub.entitlements', 'id', ids, 'uuid', sql`t.tenant_code = ${this.tenantCode}`);
  }

  async deleteSubjects(ids: readonly string[]): Promise<void> {
    await bulkDelete(
      this.db,
      'hub.subjects',
      'id',
      ids,
      'uuid',
      sql`t.tenant_code = ${this.tenantCode} and t.business_id = ${this.businessId}`,
    );
  }
}
