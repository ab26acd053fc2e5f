import { and, eq, inArray } from 'drizzle-orm';
import type { ScopeKeys } from '../crypto/index.js';
import { openJson, sealJson } from '../crypto/index.js';
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

  sealSubject(id: string, secret: SubjectSecret): Buffer {
    return sealJson(this.keys.dataKey, secret, this.subjectContext(id));
  }

  openSubject(row: SubjectRow): SubjectSecret {
    return openJson<SubjectSecret>(this.keys.dataKey, row.sealed, this.subjectContext(row.id));
  }

  sealEntitlement(id: string, secret: EntitlementSecret): Buffer {
    return sealJson(this.keys.dataKey, secret, this.entitlementContext(id));
  }

  openEntitlement(row: EntitlementRow): EntitlementSecret {
    return openJson<EntitlementSecret>(this.keys.dataKey, row.sealed, this.entitlementContext(row.id));
  }

  async findByIndexes(indexes: readonly Buffer[]): Promise<SubjectRow[]> {
    if (indexes.length === 0) return [];
    return this.db
      .select()
      .from(subjects)
      .where(and(this.#own(), inArray(subjects.myNumberIndex, [...indexes])));
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
        and(eq(entitlements.tenantCode, this.tenantCode), inArray(entitlements.subjectId, [...subjectIds])),
      );
  }

  async insertSubjects(rows: (typeof subjects.$inferInsert)[]): Promise<void> {
    for (let i = 0; i < rows.length; i += 1000)
      await this.db.insert(subjects).values(rows.slice(i, i + 1000));
  }

  async insertEntitlements(rows: (typeof entitlements.$inferInsert)[]): Promise<void> {
    for (let i = 0; i < rows.length; i += 1000)
      await this.db.insert(entitlements).values(rows.slice(i, i + 1000));
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
      .where(and(eq(entitlements.tenantCode, this.tenantCode), inArray(entitlements.id, [...ids])));
  }

  async deleteSubjects(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.delete(subjects).where(and(this.#own(), inArray(subjects.id, [...ids])));
  }
}
