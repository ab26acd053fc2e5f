import { setImmediate as yieldToIo } from 'node:timers/promises';
import { and, eq, isNotNull, type SQL, sql } from 'drizzle-orm';
import { type KeyRing, openJson, sealJson } from '../../crypto/index.js';
import { bulkInsert, findEachByKey, inList } from '../../db/bulk.js';
import { type Db, queryRows } from '../../db/client.js';
import { type EntitlementSecret, entitlementsOfSubjects } from '../pmh.repository.js';
import { entitlementIndex, subjects } from '../pmh.tables.js';
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
  // One probe per id (findEachByKey): the tenant's condition on a plain select let PostgreSQL
  // scan every subject of the tenant while a first ingest's statistics were stale.
  const numbered = await findEachByKey(
    tx,
    subjects,
    ids,
    'uuid',
    (k) => and(eq(subjects.tenantCode, tenantCode), eq(subjects.id, k), isNotNull(subjects.pmhId)),
    { fields: ['id', 'pmhId', 'isNotDisclosed', 'viewingSuspended'] },
  );
  if (numbered.length === 0) return;
  const bySubject = new Map(numbered.map((s) => [s.id, s]));
  const ents = await entitlementsOfSubjects(tx, tenantCode, [...bySubject.keys()]);
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
  return sealEntitlementFace(readKey, tenantCode, e.id, secret, e.updatedAt, e.forcedExpiryDate);
}

/**
 * Seals the certificate face (read-model key) of an entitlement as its row will stand:
 * `updatedAt` and `forcedExpiryDate` as the row's columns. What registration stores in
 * `hub.entitlements.face`, so numbering can publish it without opening the entitlement.
 *
 * @example
 * const face = sealEntitlementFace(readKey, '130001', entitlementId, secret, now, null);
 */
export function sealEntitlementFace(
  readKey: Buffer,
  tenantCode: string,
  entitlementId: string,
  secret: EntitlementSecret,
  updatedAt: Date,
  forcedExpiryDate: string | null,
): Buffer {
  const face: Record<string, unknown> = {
    municipalityCode: tenantCode,
    updatedAt: updatedAt.toISOString(),
  };
  for (const f of FACE_FIELDS) if (secret[f] !== undefined) face[f] = secret[f];
  if (forcedExpiryDate) face.forcedExpiryDate = forcedExpiryDate;
  return sealJson(readKey, face, faceContext(entitlementId));
}

/**
 * Read-model faces sealed ahead of the transaction that publishes them (see
 * {@link prepareFaces}): the rows as `json_to_recordset` input, without the subjects' PMH-ID
 * and flags (taken from the subjects when published). Each remembers the row version
 * (`xmin`) of the entitlement it was sealed from, so a face is published only if its
 * entitlement is still that version.
 */
export interface PreparedFaces {
  tenantCode: string;
  count: number;
  /** JSON array of `{ entitlement_id, version, subject_id, sealed (base64), valid_from, … }`. */
  json: string;
}

/** Faces sealed between two yields to the event loop (a face costs ~30 µs of CPU). */
const SEAL_SLICE = 64;

/**
 * Seals the read-model faces of some subjects' entitlements as they are now, without any
 * lock: the expensive part of a refresh (opening each entitlement, sealing its face), done
 * before the caller takes its locks, in slices that leave the event loop free for the
 * caller's other transactions. Publish them with {@link publishFacesStatement}.
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
  if (subjectIds.length === 0) return { tenantCode, count: 0, json: '[]' };
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
                         where e.subject_id = s.id and e.tenant_code = ${tenantCode} and e.face is null
                         offset 0) e`,
  );
  const [tenantKeys, readKeys] = await Promise.all([
    keyRing.forScope(tenantCode),
    keyRing.forScope(READ_MODEL_SCOPE),
  ]);
  const rows: string[] = [];
  for (let i = 0; i < ents.length; i++) {
    if (i > 0 && i % SEAL_SLICE === 0) await yieldToIo();
    const e = ents[i] as (typeof ents)[number];
    const updatedAt = new Date(Number(e.updated_ms));
    const sealed = sealFace(tenantKeys.dataKey, readKeys.dataKey, tenantCode, {
      id: e.id,
      sealed: Buffer.from(e.sealed, 'base64'),
      updatedAt,
      forcedExpiryDate: e.forced_expiry_date,
    });
    rows.push(
      JSON.stringify({
        entitlement_id: e.id,
        version: e.version,
        subject_id: e.subject_id,
        sealed: sealed.toString('base64'),
        valid_from: e.valid_from,
        valid_to: e.valid_to,
        forced_expiry_date: e.forced_expiry_date,
        updated_at: updatedAt.toISOString(),
      }),
    );
  }
  return { tenantCode, count: rows.length, json: `[${rows.join(',')}]` };
}

/**
 * CTEs publishing faces sealed ahead ({@link prepareFaces}) for the subjects of a CTE named
 * `recorded` (`id, tenant_code, pmh_id, is_not_disclosed, viewing_suspended`: the subjects as
 * the same statement leaves them), to be run under the locks that keep those subjects'
 * entitlements from changing (the tenant's audit chain). Each subject of `recorded` ends with
 * exactly the faces of its current entitlements if it has a PMH-ID, none otherwise; a face
 * whose entitlement changed since it was sealed is not published (nor is its old row kept),
 * so the statement's `faces_published` and `faces_due` (the subjects' current entitlements)
 * differ, and {@link refreshStaleFaces} repairs those subjects.
 *
 * Defines `faces_current` (the numbered subjects' entitlements, read once), `faces_kept`,
 * `faces_removed`, `faces_upserted`; select
 * `(select count(*) from faces_upserted) as faces_published` and {@link facesDue} `as faces_due`.
 *
 * @example
 * sql`with recorded as (update hub.subjects … returning …), ${publishFacesCtes(prepared)} select …`
 */
export function publishFacesCtes(prepared: PreparedFaces): SQL {
  const { tenantCode } = prepared;
  const cols = Object.keys(COLUMNS);
  const fromFace = new Set([
    'entitlement_id',
    'subject_id',
    'valid_from',
    'valid_to',
    'forced_expiry_date',
    'updated_at',
  ]);
  const fromPrepared = cols
    .map((n) =>
      fromFace.has(n) ? `x.${n}` : n === 'sealed' ? `decode(x.sealed, 'base64') as sealed` : `r.${n}`,
    )
    .join(', ');
  const fromRow = cols
    .map(
      (n) =>
        `${n === 'entitlement_id' ? 'e.id' : fromFace.has(n) ? `e.${n}` : n === 'sealed' ? 'e.face' : `r.${n}`} as ${n}`,
    )
    .join(', ');
  const update = cols
    .filter((n) => n !== 'entitlement_id')
    .map((n) => `${n} = excluded.${n}`)
    .join(', ');
  // Faces to publish: of subjects with a PMH-ID, of entitlements still at the version sealed.
  // Old rows of the subjects are removed unless a kept face replaces them (upserted), so no
  // row is both deleted and upserted by the statement.
  // Faces stored with their entitlements (sealed when the row was written) are copied as the
  // rows stand under the lock; the others were sealed ahead from rows without a stored face.
  // faces_current holds each current entitlement of a numbered subject as a read-model row
  // (`sealed` its stored face, or null), so nothing joins two CTEs (estimated at one row each,
  // PostgreSQL would compare every row of one with every row of the other).
  return sql`faces_current as materialized (
      select ${sql.raw(fromRow)} from recorded r,
             lateral (select * from hub.entitlements e
                       where e.subject_id = r.id and e.tenant_code = ${tenantCode} offset 0) e
       where r.pmh_id is not null
    ), faces_kept as (
      select ${sql.raw(fromPrepared)} from json_to_recordset(${prepared.json}::json)
               as x(entitlement_id uuid, version text, subject_id uuid, sealed text, valid_from date,
                    valid_to date, forced_expiry_date date, updated_at timestamptz)
        join recorded r on r.id = x.subject_id
       where r.pmh_id is not null
         and exists (select 1 from hub.entitlements e
                      where e.id = x.entitlement_id and e.xmin::text = x.version)
      union all
      select ${sql.raw(cols.join(', '))} from faces_current where sealed is not null
    ), faces_removed as (
      delete from hub.entitlement_index where ctid = any(array(
        select i.ctid from recorded r,
               lateral (select ctid, entitlement_id from hub.entitlement_index i
                         where i.subject_id = r.id and i.tenant_code = ${tenantCode} offset 0) i
         where i.entitlement_id not in (select entitlement_id from faces_kept)))
    ), faces_upserted as (
      ${sql.raw(`insert into hub.entitlement_index (${cols.join(', ')}) select ${cols.join(', ')}
        from faces_kept x
        on conflict (entitlement_id) do update set ${update}
        returning entitlement_id`)}
    )`;
}

/** The count of current entitlements of the numbered subjects of `recorded` (see {@link publishFacesCtes}). */
export function facesDue(): SQL {
  return sql`(select count(*) from faces_current)::int`;
}

/**
 * After {@link publishFacesCtes} published fewer faces than were due: refreshes, the usual
 * way, the subjects that have an entitlement without a face (changed since it was sealed).
 */
export async function refreshStaleFaces(
  tx: Db,
  keyRing: KeyRing,
  tenantCode: string,
  numberedSubjectIds: readonly string[],
): Promise<void> {
  if (numberedSubjectIds.length === 0) return;
  const stale = await queryRows<{ subject_id: string }>(
    tx,
    sql`select distinct e.subject_id from hub.entitlements e
         where e.tenant_code = ${tenantCode}
           and ${inList(sql`e.subject_id`, [...numberedSubjectIds], 'uuid')}
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
