import { AUDIT_ACTIONS, appendAudit } from '../audit/index.js';
import type { Db } from '../db/client.js';
import {
  type AccessHistory,
  type ChangeResult,
  type HubCaller,
  MASKED_MY_NUMBER,
  type NumberingView,
  type PmhPort,
  type RecordResult,
  type SubjectView,
  type Submission,
} from '../pmh/index.js';
import { Problem } from './http/problem.js';
import type { RemoteSubject } from './remote-pmh/index.js';

/** What {@link RemoteHub} reads from a remote PMH (implemented by `RemotePmhClient`). */
export interface RemoteSubjectReader {
  getSubjectRecord(input: {
    token?: string;
    subjectId: string;
  }): Promise<
    { kind: 'found'; subject: RemoteSubject } | { kind: 'absent' } | { kind: 'unavailable'; reason: string }
  >;
}

/**
 * Whether PMH files this subject under the caller's tenant and business: anything else is
 * treated as absent (PMH may know us under another tenant).
 *
 * @example
 * if (!isOwnSubject(subject, '130001', 'jiritsu-seishin')) return undefined;
 */
export function isOwnSubject(
  subject: Pick<RemoteSubject, 'municipalityCode' | 'businessId'>,
  tenantCode: string,
  businessId: string,
): boolean {
  return subject.municipalityCode === tenantCode && subject.businessId === businessId;
}

/**
 * The PMH port when PMH is remote. Registrations never pass here (they go through the
 * outbox, so none is lost); reads are forwarded to PMH's API; changes its public API does not
 * offer (entitlement patch, forced expiry, control flags, delete by id) answer `unsupported`.
 *
 * @example
 * const hub: PmhPort = new RemoteHub({ client, token: (tenant, business) => tokens.get(tenant) });
 */
export class RemoteHub implements PmhPort {
  constructor(
    private readonly deps: {
      client: RemoteSubjectReader;
      token: (tenantCode: string, businessId: string) => string | undefined;
      /** Where reads are audited (the tenant's chain), as the embedded hub does. */
      db: Db;
      clock: () => Date;
    },
  ) {}

  submit(_caller: HubCaller, _submission: Submission): Promise<RecordResult[]> {
    return Promise.reject(new Error('in remote mode registrations go through the outbox'));
  }

  async getSubject(
    caller: HubCaller,
    subjectId: string,
    options: { showMyNumber: boolean },
  ): Promise<SubjectView | undefined> {
    const token = this.deps.token(caller.tenantCode, caller.businessId);
    const answer = await this.deps.client.getSubjectRecord({ ...(token ? { token } : {}), subjectId });
    if (answer.kind === 'absent') return undefined;
    if (answer.kind === 'unavailable') throw new Problem('pmh-unavailable');
    if (!isOwnSubject(answer.subject, caller.tenantCode, caller.businessId)) return undefined;
    const subject = answer.subject as unknown as SubjectView;
    await this.deps.db.transaction((tx) =>
      appendAudit(
        tx,
        caller.tenantCode,
        [
          {
            actor: caller.actor,
            action: AUDIT_ACTIONS.subjectViewed,
            subjectRef: subjectId,
            requestId: caller.requestId ?? null,
            detail: { myNumberShown: options.showMyNumber, at: 'remote-pmh' },
          },
        ],
        this.deps.clock(),
      ),
    );
    return options.showMyNumber ? subject : { ...subject, myNumber: MASKED_MY_NUMBER };
  }

  async updateEntitlement(): Promise<ChangeResult<SubjectView>> {
    return { ok: false, reason: 'unsupported' };
  }

  async expireEntitlement(): Promise<ChangeResult<SubjectView>> {
    return { ok: false, reason: 'unsupported' };
  }

  async deleteSubject(): Promise<ChangeResult<{ subjectId: string }>> {
    return { ok: false, reason: 'unsupported' };
  }

  async setControlFlags(): Promise<ChangeResult<SubjectView>> {
    return { ok: false, reason: 'unsupported' };
  }

  /** Numbering is PMH's business when PMH is remote: no states to show here. */
  async accessHistory(): Promise<ChangeResult<AccessHistory>> {
    // PMH keeps its own access log; its public API offers no way to read it.
    return { ok: false, reason: 'unsupported' };
  }

  async numberingStates(): Promise<Record<string, NumberingView>> {
    return {};
  }
}
