import { and, eq, sql } from 'drizzle-orm';
import type { ScopeKeys } from '../crypto/index.js';
import { openJson, sealJson, sealText } from '../crypto/index.js';
import { bulkInsert, bulkUpdate, inList } from '../db/bulk.js';
import type { Db } from '../db/client.js';
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
} as const;
const ENTITLEMENT_CHANGE_COLUMNS = {
  id: 'uuid',
  sealed: 'bytea',
  digest: 'bytea',
  valid_from: 'date',
  valid_to: 'date',
  forced_expiry_date: 'date',
  updated_at: 'timestamptz',
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
}
export type EntitlementRow = typeof entitlements.$inferSelect;

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
    return `subject:${this.tenantCode}:${id}`;
  }

  entitlementContext(id: string): string {
    return `entitlement:${this.tenantCode}:${id}`;
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
    if (indexes.length === 0) return [];
    return this.db
      .select()
      .from(subjects)
      .where(and(this.#own(), inList(subjects.myNumberIndex, [...indexes], 'bytea')));
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
    if (subjectIds.length === 0) return [];
    return this.db
      .select()
      .from(entitlements)
      .where(
        and(
          eq(entitlements.tenantCode, this.tenantCode),
          inList(entitlements.subjectId, [...subjectIds], 'uuid'),
        ),
      );
  }

  async insertSubjects(rows: SubjectInsert[]): Promise<void> {
    await bulkInsert(
      this.db,
      'hub.subjects',
      SUBJECT_COLUMNS,
      rows.map((r) => ({ ...r, tenant_code: this.tenantCode, business_id: this.businessId })),
    );
  }

  async insertEntitlements(rows: EntitlementInsert[]): Promise<void> {
    await bulkInsert(
      this.db,
      'hub.entitlements',
      ENTITLEMENT_COLUMNS,
      rows.map((r) => ({ ...r, tenant_code: this.tenantCode })),
    );
  }

  /** Puts subjects (new, or whose 個人番号/basic information changed) in the numbering queue. */
  async enqueueNumbering(subjectIds: readonly string[], now: Date): Promise<void> {
    if (subjectIds.length === 0) return;
    await bulkInsert(
      this.db,
      'hub.numbering_queue',
      { subject_id: 'uuid', tenant_code: 'text', next_attempt_at: 'timestamptz', enqueued_at: 'timestamptz' },
      subjectIds.map((id) => ({
        subject_id: id,
        tenant_code: this.tenantCode,
        next_attempt_at: now,
        enqueued_at: now,
      })),
      {
        onConflict:
          '(subject_id) do update set batch_id = null, attempts = 0, next_attempt_at = excluded.next_attempt_at, enqueued_at = excluded.enqueued_at, last_error = null',
      },
    );
    await this.db.execute(
      sql`update hub.subjects set numbering_status = 'pending' where tenant_code = ${this.tenantCode} and id in (select (jsonb_array_elements_text(${JSON.stringify(subjectIds)}::jsonb))::uuid)`,
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
    if (ids.length === 0) return;
    await this.db
      .delete(entitlements)
      .where(and(eq(entitlements.tenantCode, this.tenantCode), inList(entitlements.id, [...ids], 'uuid')));
  }

  async deleteSubjects(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.delete(subjects).where(and(this.#own(), inList(subjects.id, [...ids], 'uuid')));
  }
}
