import type { Actor } from '../../audit/index.js';
import type { PermitListStore } from '../../permit-list/index.js';
import type { ExchangeService, ReplicaRecord } from './exchange.service.js';

/** Why the relay refused a registration. */
export type RelayRefusal = 'procedure-not-provided' | 'item-not-provided';

/**
 * The linkage server (団体内統合利用番号連携サーバー, seed ㉓): the only way replicas reach the
 * agency server. It checks that the caller provides data under the named procedure and only
 * items that procedure carries, passes the records on, keeps no copy of anything, and echoes
 * the caller's own request id (A14, A17, A18, A38).
 *
 * @example
 * const answer = await relay.registerReplicas({ agencyId: '130001', actor, requestId }, { procedure, records });
 */
export class Relay {
  constructor(private readonly deps: { exchange: ExchangeService; permitList: PermitListStore }) {}

  async registerReplicas(
    caller: { agencyId: string; actor: Actor; requestId: string },
    input: { procedure: string; records: readonly ReplicaRecord[] },
  ): Promise<
    | { ok: true; requestId: string; stored: number }
    | { ok: false; requestId: string; reason: RelayRefusal; items?: string[] }
  > {
    const file = this.deps.permitList.list().file;
    const entries = file.entries.filter(
      (e) => e.provider === caller.agencyId && e.procedure.code === input.procedure,
    );
    if (entries.length === 0)
      return { ok: false, requestId: caller.requestId, reason: 'procedure-not-provided' };
    const allowed = new Set(entries.flatMap((e) => e.dataItems.map((i) => i.code)));
    const extra = [
      ...new Set(input.records.flatMap((r) => Object.keys(r.items)).filter((code) => !allowed.has(code))),
    ];
    if (extra.length)
      return { ok: false, requestId: caller.requestId, reason: 'item-not-provided', items: extra };
    const stored = await this.deps.exchange.storeReplicas(
      caller.agencyId,
      input.records,
      caller.actor,
      caller.requestId,
    );
    return { ok: true, requestId: caller.requestId, stored };
  }
}
