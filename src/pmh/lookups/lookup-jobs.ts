import { type Actor, AUDIT_ACTIONS } from '../../audit/index.js';
import { open } from '../../crypto/index.js';
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

/**
 * What a committed {@link LookupJob} answers: the entitlements as the JSON text of a
 * {@link LookupEntitlement} array (text crosses between threads and into a response without
 * being parsed or serialised again), or a replayed linkage key.
 */
export type LookupJobOutcome = { ok: true; entitlements: string } | { ok: false; reason: 'replayed' };

/**
 * Opens the read-model rows of one answer, as the JSON text of the entitlements: each face is
 * JSON text sealed by JSON.stringify, used as it is; for a clinic, `isDesignatedInstitution`
 * (whether it is a designated institution on the date of care) is appended as the face's last
 * member — the text `{ ...face, isDesignatedInstitution }` serialises to. A face is parsed only
 * if it names the institution at all.
 */
export function openFacesJson(
  dataKey: Buffer,
  rows: readonly FoundRow[],
  dateOfCare: string,
  institutionCode?: string,
): string {
  const faces = rows.map((r) => {
    const text = open(dataKey, r.sealed, faceContext(r.entitlementId)).toString('utf8');
    if (institutionCode === undefined) return text;
    const designated =
      text.includes(`"${institutionCode}"`) &&
      ((JSON.parse(text) as EntitlementFace).designatedMedicalInstitutions ?? []).some(
        (d) =>
          d.institutionCode === institutionCode &&
          (d.validFrom === undefined || d.validFrom <= dateOfCare) &&
          (d.validTo === undefined || d.validTo >= dateOfCare),
      );
    if (!text.endsWith('}')) throw new Error('a read-model face is not a JSON object');
    return `${text.slice(0, -1)}${text === '{}' ? '' : ','}"isDesignatedInstitution":${designated}}`;
  });
  return `[${faces.join(',')}]`;
}

/**
 * The committer's item for a job: the entitlements opened with the read model's data key, and
 * the audit entry recording who asked, for whom, what was returned (how many entitlements, filled
 * in by the batch statement from what it read) and the request id.
 */
export function lookupItem(job: LookupJob, dataKey: Buffer): LookupItem<string> {
  switch (job.kind) {
    case 'refused':
      return {
        entry: {
          actor: job.actor,
          action: AUDIT_ACTIONS.linkageKeyRefused,
          requestId: job.requestId,
          detail: { reason: job.reason, institutionCode: job.institutionCode },
        },
        answer: () => '[]',
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
        answer: (found) => openFacesJson(dataKey, found.rows, job.dateOfCare, job.institutionCode),
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
        answer: (found) => openFacesJson(dataKey, found.rows, job.dateOfCare),
      };
  }
}
