import { and, eq, isNotNull, sql } from 'drizzle-orm';
import { type KeyRing, openJson, sealJson } from '../../crypto/index.js';
import { bulkInsert, inList } from '../../db/bulk.js';
import { type Db, queryRows } from '../../db/client.js';
import type { EntitlementSecret } from '../pmh.repository.js';
import { entitlementIndex, entitlements, subjects } from '../pmh.tables.js';
import type { LookupEntitlement } from './lookups.schemas.js';

/** The key scope of the read model (one key for the cross-tenant read model, not a tenant's). */
export const READ_MODEL_SCOPE = 'read-model';

/** What the read model seals per entitlement: the certificate face, nothing about the person. */
export type EntitlementFace = Omit<LookupEntitlement, 'isDesignatedInstitution'>;

const FACE_FIELDS = [
  'orgSpecificCertificateTypeId',
  'certificationName',
  'medicalSubsidyInsurerNumber',
  'medicalSubsidyRecipientNumber',
  'validFrom',
  'validTo',
  'incomeSegment',
  'severeAndContinuing',
  'isAlwaysReimbursement',
  'maxCopaymentAmount',
  'designatedMedicalInstitutions',
  'certificationDetail',
] as const;

const COLUMNS = {
  entitlement_id: 'uuid',
  pmh_id: 'text',
  tenant_code: 'text',
  subject_id: 'uuid',
  sealed: 'bytea',
  is_not_disclosed: 'boolean',
  viewing_suspended: 'boolean',
  valid_from: 'date',
  valid_to: 'date',
  forced_expiry_date: 'date',
  updated_at: 'timestamptz',
} as const;

/** The context a read-model row is sealed under. */
export const faceContext = (entitlementId: string) => `read-model:${entitlementId}`;

/**
 * Rebuilds the read-model rows of some subjects of one tenant inside the caller's
 * transaction: removed for subjects without a PMH-ID, re-sealed from the entitlements
 * otherwise. Called wherever a subject's entitlements, flags or PMH-ID change.
 *
 * @example
 * await refreshReadModel(tx, keyRing, '130001', [subjectId]);
 */
export async function refreshReadModel(
  tx: Db,
  keyRing: KeyRing,
  tenantCode: string,
  subjectIds: readonly string[],
): Promise<void> {
  if (subjectIds.length === 0) return;
  const ids = [...new Set(subjectIds)];
  await tx
    .delete(entitlementIndex)
    .where(and(eq(entitlementIndex.tenantCode, tenantCode), inList(entitlementIndex.subjectId, ids, 'uuid')));
  const numbered = await tx
    .select({
      id: subjects.id,
      pmhId: subjects.pmhId,
      isNotDisclosed: subjects.isNotDisclosed,
      viewingSuspended: subjects.viewingSuspended,
    })
    .from(subjects)
    .where(
      and(eq(subjects.tenantCode, tenantCode), inList(subjects.id, ids, 'uuid'), isNotNull(subjects.pmhId)),
    );
  if (numbered.length === 0) return;
  const bySubject = new Map(numbered.map((s) => [s.id, s]));
  const ents = await tx
    .select()
    .from(entitlements)
    .where(
      and(
        eq(entitlements.tenantCode, tenantCode),
        inList(entitlements.subjectId, [...bySubject.keys()], 'uuid'),
      ),
    );
  const [tenantKeys, readKeys] = await Promise.all([
    keyRing.forScope(tenantCode),
    keyRing.forScope(READ_MODEL_SCOPE),
  ]);
  const rows = ents.map((e) => {
    const s = bySubject.get(e.subjectId);
    return {
      entitlement_id: e.id,
      pmh_id: s?.pmhId,
      tenant_code: tenantCode,
      subject_id: e.subjectId,
      sealed: sealFace(tenantKeys.dataKey, readKeys.dataKey, tenantCode, e),
      is_not_disclosed: s?.isNotDisclosed ?? true,
      viewing_suspended: s?.viewingSuspended ?? true,
      valid_from: e.validFrom,
      valid_to: e.validTo,
      forced_expiry_date: e.forcedExpiryDate,
      updated_at: e.updatedAt,
    };
  });
  await bulkInsert(tx, 'hub.entitlement_index', COLUMNS, rows);
}

/**
 * `s(id)`: one row per subject id, for a LATERAL index lookup per subject (`offset 0` keeps
 * the planner from turning it into a scan of the whole table, which it did while the
 * tables' statistics were young: every batch then read every row of the tenant).
 */
function eachSubject(ids: readonly string[]) {
  return sql`(select v::uuid as id from jsonb_array_elements_text(${JSON.stringify([...new Set(ids)])}::jsonb) as t(v)) s`;
}

interface FaceSource {
  id: string;
  sealed: Buffer;
  updatedAt: Date;
  forcedExpiryDate: string | null;
}

/** Opens an entitlement (tenant key) and seals its certificate face (read-model key). */
function sealFace(tenantKey: Buffer, readKey: Buffer, tenantCode: string, e: FaceSource): Buffer {
  const secret = openJson<EntitlementSecret>(tenantKey, e.sealed, `entitlement:${tenantCode}:${e.id}`);
  const face: Record<string, unknown> = {
    municipalityCode: tenantCode,
    updatedAt: e.updatedAt.toISOString(),
  };
  for (const f of FACE_FIELDS) if (secret[f] !== undefined) face[f] = secret[f];
  if (e.forcedExpiryDate) face.forcedExpiryDate = e.forcedExpiryDate;
  return sealJson(readKey, face, faceContext(e.id));
}

/**
 * Read-model faces sealed ahead of the transaction that publishes them (see
 * {@link prepareFaces}); each remembers the row version (`xmin`) of the entitlement it was
 * sealed from, so {@link publishPreparedFaces} can tell whether it is still current.
 */
export interface PreparedFaces {
  tenantCode: string;
  faces: {
    entitlementId: string;
    subjectId: string;
    version: string;
    sealed: Buffer;
    validFrom: string;
    validTo: string | null;
    forcedExpiryDate: string | null;
    updatedAt: Date;
  }[];
}

/**
 * Seals the read-model faces of some subjects' entitlements as they are now, without any
 * lock: the expensive part of a refresh (opening each entitlement, sealing its face), done
 * before the caller takes its locks. Publish them with {@link publishPreparedFaces}.
 *
 * @example
 * const prepared = await prepareFaces(db, keyRing, '130001', subjectIds);
 */
export async function prepareFaces(
  db: Db,
  keyRing: KeyRing,
  tenantCode: string,
  subjectIds: readonly string[],
): Promise<PreparedFaces> {
  if (subjectIds.length === 0) return { tenantCode, faces: [] };
  const ents = await queryRows<{
    id: string;
    subject_id: string;
    version: string;
    sealed: string;
    valid_from: string;
    valid_to: string | null;
    forced_expiry_date: string | null;
    updated_ms: number;
  }>(
    db,
    sql`select e.id, e.subject_id, e.version, encode(e.sealed, 'base64') as sealed,
               e.valid_from::text as valid_from, e.valid_to::text as valid_to,
               e.forced_expiry_date::text as forced_expiry_date,
               floor(extract(epoch from e.updated_at) * 1000)::float8 as updated_ms
          from ${eachSubject(subjectIds)},
               lateral (select e.*, e.xmin::text as version from hub.entitlements e
                         where e.subject_id = s.id and e.tenant_code = ${tenantCode} offset 0) e`,
  );
  const [tenantKeys, readKeys] = await Promise.all([
    keyRing.forScope(tenantCode),
    keyRing.forScope(READ_MODEL_SCOPE),
  ]);
  return {
    tenantCode,
    faces: ents.map((e) => {
      const source = {
        id: e.id,
        sealed: Buffer.from(e.sealed, 'base64'),
        updatedAt: new Date(Number(e.updated_ms)),
        forcedExpiryDate: e.forced_expiry_date,
      };
      return {
        entitlementId: e.id,
        subjectId: e.subject_id,
        version: e.version,
        sealed: sealFace(tenantKeys.dataKey, readKeys.dataKey, tenantCode, source),
        validFrom: e.valid_from,
        validTo: e.valid_to,
        forcedExpiryDate: e.forced_expiry_date,
        updatedAt: source.updatedAt,
      };
    }),
  };
}

/** A subject as it stands inside the caller's transaction, after its change. */
export interface ReadModelSubject {
  id: string;
  pmhId: string | null;
  isNotDisclosed: boolean;
  viewingSuspended: boolean;
}

/**
 * {@link refreshReadModel} from faces sealed ahead ({@link prepareFaces}), inside the caller's
 * transaction and under the locks that keep the subjects' entitlements from changing (the
 * tenant's audit chain): removes the subjects' rows, inserts the prepared faces whose
 * entitlement is unchanged since (same row version), and refreshes the usual way only the
 * subjects with an entitlement changed, added or removed in between. `subjects` are the
 * subjects' current PMH-ID and flags (rows without a PMH-ID get no faces).
 *
 * @example
 * await publishPreparedFaces(tx, keyRing, prepared, [{ id, pmhId, isNotDisclosed: false, viewingSuspended: false }]);
 */
export async function publishPreparedFaces(
  tx: Db,
  keyRing: KeyRing,
  prepared: PreparedFaces,
  subjectsNow: readonly ReadModelSubject[],
): Promise<void> {
  if (subjectsNow.length === 0) return;
  const { tenantCode } = prepared;
  const ids = subjectsNow.map((s) => s.id);
  await tx.execute(
    sql`delete from hub.entitlement_index where ctid = any(array(
          select i.ctid from ${eachSubject(ids)},
                 lateral (select ctid from hub.entitlement_index i
                           where i.subject_id = s.id and i.tenant_code = ${tenantCode} offset 0) i))`,
  );
  const numbered = new Map<string, ReadModelSubject>();
  for (const s of subjectsNow) if (s.pmhId) numbered.set(s.id, s);
  if (numbered.size === 0) return;
  const rows = [];
  for (const f of prepared.faces) {
    const s = numbered.get(f.subjectId);
    if (!s) continue;
    rows.push({
      entitlement_id: f.entitlementId,
      version: f.version,
      pmh_id: s.pmhId,
      tenant_code: tenantCode,
      subject_id: f.subjectId,
      sealed: f.sealed,
      is_not_disclosed: s.isNotDisclosed,
      viewing_suspended: s.viewingSuspended,
      valid_from: f.validFrom,
      valid_to: f.validTo,
      forced_expiry_date: f.forcedExpiryDate,
      updated_at: f.updatedAt,
    });
  }
  // One statement: insert the faces whose entitlement is still the row version they were
  // sealed from, and name the subjects that have an entitlement without a face now.
  const cols = { ...COLUMNS, version: 'text' } as const;
  const names = Object.keys(COLUMNS);
  const shape = Object.entries(cols)
    .map(([n, t]) => `${n} ${t === 'bytea' ? 'text' : t}`)
    .join(', ');
  const select = names.map((n) => (n === 'sealed' ? `decode(x.sealed, 'base64')` : `x.${n}`)).join(', ');
  const json = JSON.stringify(
    rows.map((r) => ({
      ...r,
      sealed: r.sealed.toString('base64'),
      updated_at: r.updated_at.toISOString(),
    })),
  );
  const [counts] = await queryRows<{ inserted: number; current: number }>(
    tx,
    sql`with inserted as (
          ${sql.raw(`insert into hub.entitlement_index (${names.join(', ')}) select ${select} from jsonb_to_recordset(`)}${json}${sql.raw(`::jsonb) as x(${shape})
           where exists (select 1 from hub.entitlements e where e.id = x.entitlement_id and e.xmin::text = x.version)
          returning entitlement_id`)})
        select (select count(*) from inserted)::int as inserted,
               (select count(*) from ${eachSubject([...numbered.keys()])},
                       lateral (select 1 from hub.entitlements e
                                 where e.subject_id = s.id and e.tenant_code = ${tenantCode} offset 0) e
               )::int as current`,
  );
  // Every inserted face is of a current entitlement: equal counts mean every current
  // entitlement has its face. Otherwise (something changed since the faces were sealed)
  // refresh the subjects that miss one the usual way.
  if (counts && counts.inserted === counts.current) return;
  const stale = await queryRows<{ subject_id: string }>(
    tx,
    sql`select distinct e.subject_id from hub.entitlements e
         where e.tenant_code = ${tenantCode}
           and ${inList(sql`e.subject_id`, [...numbered.keys()], 'uuid')}
           and not exists (select 1 from hub.entitlement_index i where i.entitlement_id = e.id)`,
  );
  if (stale.length > 0)
    await refreshReadModel(
      tx,
      keyRing,
      tenantCode,
      stale.map((r) => r.subject_id),
    );
}
