import { hmac, type ScopeKeys, sealText } from '../crypto/index.js';
import { timeOrderedUuid } from '../db/ids.js';
import type { EntitlementSecret, SubjectSecret } from './pmh.repository.js';
import type { RegistrationRecord, UpsertRecord } from './pmh.schemas.js';

/** The AAD context of a subject's envelope: a sealed row opens only as itself. */
export function subjectContext(tenantCode: string, id: string): string {
  return `subject:${tenantCode}:${id}`;
}

/** The AAD context of an entitlement's envelope. */
export function entitlementContext(tenantCode: string, id: string): string {
  return `entitlement:${tenantCode}:${id}`;
}

/** A record split into what is sealed in the subject row and in the entitlement row. */
export interface RecordParts {
  subject: SubjectSecret;
  entitlement: EntitlementSecret;
  isNotDisclosed?: boolean;
}

/** Splits a record into its subject part and its entitlement part. */
function splitRecord(r: UpsertRecord): RecordParts {
  const {
    modificationSeg: _seg,
    myNumber,
    municipalityIdentityKey,
    basicFiveInfo,
    isNotDisclosed,
    ...entitlement
  } = r;
  const subject: SubjectSecret = { myNumber, basicFiveInfo };
  if (municipalityIdentityKey !== undefined) subject.municipalityIdentityKey = municipalityIdentityKey;
  return { subject, entitlement, ...(isNotDisclosed === undefined ? {} : { isNotDisclosed }) };
}

/**
 * What a record needs of the CPU before the hub looks at its store: the blind index, the
 * serialised parts and their digests, and both parts sealed under fresh ids as if new. The
 * hub uses the sealed parts when the record does create the subject or entitlement, and
 * seals again (under the existing id) when it does not.
 */
export interface PreparedRecord {
  index: Buffer;
  upsert?: {
    parts: RecordParts;
    subjectText: string;
    subjectDigest: Buffer;
    subjectId: string;
    subjectSealed: Buffer;
    entitlementText: string;
    entitlementDigest: Buffer;
    entitlementId: string;
    entitlementSealed: Buffer;
  };
}

/**
 * Records prepared ahead of their submission ({@link PmhPort.prepare}): used by the submission
 * only for the same tenant and the same records (the same array), else prepared again.
 */
export class PreparedSubmission {
  constructor(
    readonly tenantCode: string,
    readonly records: readonly RegistrationRecord[],
    readonly items: readonly PreparedRecord[],
  ) {}

  /** The prepared records, if they were prepared for this tenant and these records. */
  for(tenantCode: string, records: readonly RegistrationRecord[]): readonly PreparedRecord[] | undefined {
    return tenantCode === this.tenantCode && records === this.records ? this.items : undefined;
  }
}

/**
 * Prepares records of one tenant (pure CPU: HMAC, JSON, AES-GCM), before the hub's
 * transaction.
 *
 * @example
 * const prepared = prepareRecords('130001', keys, records);
 */
export function prepareRecords(
  tenantCode: string,
  keys: Pick<ScopeKeys, 'dataKey' | 'blindIndexKey' | 'digestKey'>,
  records: readonly RegistrationRecord[],
): PreparedRecord[] {
  const out: PreparedRecord[] = [];
  for (const record of records) {
    const index = hmac(keys.blindIndexKey, record.myNumber);
    if (record.modificationSeg === '2') {
      out.push({ index });
      continue;
    }
    const parts = splitRecord(record);
    const subjectText = JSON.stringify(parts.subject);
    const entitlementText = JSON.stringify(parts.entitlement);
    const subjectId = timeOrderedUuid();
    const entitlementId = timeOrderedUuid();
    out.push({
      index,
      upsert: {
        parts,
        subjectText,
        subjectDigest: hmac(keys.digestKey, subjectText),
        subjectId,
        subjectSealed: sealText(keys.dataKey, subjectText, subjectContext(tenantCode, subjectId)),
        entitlementText,
        entitlementDigest: hmac(keys.digestKey, entitlementText),
        entitlementId,
        entitlementSealed: sealText(
          keys.dataKey,
          entitlementText,
          entitlementContext(tenantCode, entitlementId),
        ),
      },
    });
  }
  return out;
}
