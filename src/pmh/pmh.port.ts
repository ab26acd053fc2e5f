import type { Actor } from '../audit/index.js';
import type { FieldError } from '../validation/index.js';
import type { PreparedSubmission } from './pmh.prepare.js';
import type { RecordResult, RegistrationRecord } from './pmh.schemas.js';
import type {
  AccessHistory,
  ControlFlags,
  EntitlementPatch,
  NumberingView,
  SubjectView,
} from './pmh.views.js';

/** Who is asking the hub, for which tenant and business. The tenant comes from the caller's credentials. */
export interface HubCaller {
  tenantCode: string;
  businessId: string;
  actor: Actor;
  requestId?: string | undefined;
}

/** A submission of validated records (seed ㉖). */
export interface Submission {
  /** A retried submission with the same key returns the first answer and changes nothing again. */
  idempotencyKey?: string | undefined;
  records: readonly RegistrationRecord[];
  /** An opaque reference per record (e.g. linkage file and row), kept in its audit entry. */
  recordRefs?: readonly string[] | undefined;
  /** What {@link PmhPort.prepare} did ahead of time (in process only; never sent anywhere). */
  prepared?: PreparedSubmission | undefined;
}

/** The outcome of a change to one subject or entitlement. */
export type ChangeResult<T> =
  | { ok: true; value: T }
  | { ok: false; reason: 'not-found' }
  /** The PMH behind this port has no such operation (a remote PMH's public API). */
  | { ok: false; reason: 'unsupported' }
  /** The PMH behind this port did not answer (remote). */
  | { ok: false; reason: 'unavailable' }
  | { ok: false; reason: 'invalid'; errors: FieldError[] };

/**
 * The PMH port: everything the gateway may ask of the hub. Implemented in process by
 * `PmhService`; a remote adapter (HTTP) implements the same contract.
 */
export interface PmhPort {
  submit(caller: HubCaller, submission: Submission): Promise<RecordResult[]>;
  /**
   * Optional (the hub in process has it): does a submission's CPU work now — digests,
   * envelopes — and answers the submission to pass to {@link submit}, which then goes straight
   * to its transaction. A caller with one submission in flight prepares the next meanwhile.
   */
  prepare?(caller: HubCaller, submission: Submission): Promise<Submission>;
  getSubject(
    caller: HubCaller,
    subjectId: string,
    options: { showMyNumber: boolean },
  ): Promise<SubjectView | undefined>;
  updateEntitlement(
    caller: HubCaller,
    subjectId: string,
    entitlementId: string,
    patch: EntitlementPatch,
  ): Promise<ChangeResult<SubjectView>>;
  expireEntitlement(
    caller: HubCaller,
    subjectId: string,
    entitlementId: string,
    forcedExpiryDate: string,
  ): Promise<ChangeResult<SubjectView>>;
  deleteSubject(caller: HubCaller, subjectId: string): Promise<ChangeResult<{ subjectId: string }>>;
  setControlFlags(
    caller: HubCaller,
    subjectId: string,
    flags: ControlFlags,
  ): Promise<ChangeResult<SubjectView>>;
  /**
   * Who saw or changed a subject's data, and when (a disclosure request, seed A50): its entries
   * in the tenant's audit log and the clinic and portal lookups of its PMH-ID, newest first,
   * never a value. The reading itself is audited.
   */
  accessHistory(caller: HubCaller, subjectId: string): Promise<ChangeResult<AccessHistory>>;
  /** Numbering states of the caller's subjects (no personal data), keyed by subject id. */
  numberingStates(caller: HubCaller, subjectIds: readonly string[]): Promise<Record<string, NumberingView>>;
}
