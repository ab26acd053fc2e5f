import { type Actor, AUDIT_ACTIONS } from '../../audit/index.js';
import { openJson } from '../../crypto/index.js';
import { FOUND, FOUND_PMH_ID, type FoundRow, type LookupItem } from './lookup-committer.js';
import type { LookupEntitlement } from './lookups.schemas.js';
import { type EntitlementFace, faceContext } from './read-model.js';

/**
 * One lookup as plain data (so that it can be handed to the lookup worker thread as well as
 * to a committer in this thread): what to read, and what to audit.
 */
export type LookupJob =
  | {
      kind: 'clinic';
      actor: Actor;
      requestId: string;
      pmhId: string;
      jti: string;
      /** The linkage key's expiry, epoch milliseconds. */
      expiresAt: number;
      institutionCode: string;
      dateOfCare: string;
    }
  | { kind: 'portal'; actor: Actor; requestId: string; pseudonym: string; dateOfCare: string }
  | { kind: 'refused'; actor: Actor; requestId: string; reason: string; institutionCode: string };

/** What a committed {@link LookupJob} answers: the entitlements, or a replayed linkage key. */
export type LookupJobOutcome =
  | { ok: true; entitlements: LookupEntitlement[] }
  | { ok: false; reason: 'replayed' };

/**
 * Opens the read-model rows of one answer; for a clinic, marks whether it is a designated
 * institution on the date of care.
 */
export function openFaces(
  dataKey: Buffer,
  rows: readonly FoundRow[],
  dateOfCare: string,
  institutionCode?: string,
): LookupEntitlement[] {
  return rows.map((r) => {
    const face = openJson<EntitlementFace>(dataKey, r.sealed, faceContext(r.entitlementId));
    if (institutionCode === undefined) return face;
    const designated = (face.designatedMedicalInstitutions ?? []).some(
      (d) =>
        d.institutionCode === institutionCode &&
        (d.validFrom === undefined || d.validFrom <= dateOfCare) &&
        (d.validTo === undefined || d.validTo >= dateOfCare),
    );
    return { ...face, isDesignatedInstitution: designated };
  });
}

/**
 * The committer's item for a job: the entitlements opened with the read model's data key, and
 * the audit entry recording who asked, for whom, what was returned (how many entitlements, filled
 * in by the batch statement from what it read) and the request id.
 */
export function lookupItem(job: LookupJob, dataKey: Buffer): LookupItem<LookupEntitlement[]> {
  switch (job.kind) {
    case 'refused':
      return {
        entry: {
          actor: job.actor,
          action: AUDIT_ACTIONS.linkageKeyRefused,
          requestId: job.requestId,
          detail: { reason: job.reason, institutionCode: job.institutionCode },
        },
        answer: () => [],
      };
    case 'clinic':
      return {
        who: { pmhId: job.pmhId },
        dateOfCare: job.dateOfCare,
        jti: { jti: job.jti, expiresAt: new Date(job.expiresAt) },
        entry: {
          actor: job.actor,
          action: AUDIT_ACTIONS.clinicLookup,
          subjectRef: job.pmhId,
          requestId: job.requestId,
          detail: {
            institutionCode: job.institutionCode,
            dateOfCare: job.dateOfCare,
            returned: FOUND.returned,
          },
        },
        answer: (found) => openFaces(dataKey, found.rows, job.dateOfCare, job.institutionCode),
        replayed: {
          actor: job.actor,
          action: AUDIT_ACTIONS.linkageKeyReplayed,
          subjectRef: job.pmhId,
          requestId: job.requestId,
          detail: { requestId: job.requestId },
        },
      };
    case 'portal':
      return {
        who: { pseudonym: job.pseudonym },
        dateOfCare: job.dateOfCare,
        entry: {
          actor: job.actor,
          action: AUDIT_ACTIONS.portalLookup,
          subjectRef: FOUND_PMH_ID,
          requestId: job.requestId,
          detail: { dateOfCare: job.dateOfCare, returned: FOUND.returned, known: FOUND.known },
        },
        answer: (found) => openFaces(dataKey, found.rows, job.dateOfCare),
      };
  }
}
