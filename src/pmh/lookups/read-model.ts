import { and, eq, isNotNull } from 'drizzle-orm';
import { type KeyRing, openJson, sealJson } from '../../crypto/index.js';
import { bulkInsert, inList } from '../../db/bulk.js';
import type { Db } from '../../db/client.js';
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
    const secret = openJson<EntitlementSecret>(
      tenantKeys.dataKey,
      e.sealed,
      `entitlement:${tenantCode}:${e.id}`,
    );
    const face: Record<string, unknown> = {
      municipalityCode: tenantCode,
      updatedAt: e.updatedAt.toISOString(),
    };
    for (const f of FACE_FIELDS) if (secret[f] !== undefined) face[f] = secret[f];
    if (e.forcedExpiryDate) face.forcedExpiryDate = e.forcedExpiryDate;
    return {
      entitlement_id: e.id,
      pmh_id: s?.pmhId,
      tenant_code: tenantCode,
      subject_id: e.subjectId,
      sealed: sealJson(readKeys.dataKey, face, faceContext(e.id)),
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
