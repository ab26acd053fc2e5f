import { AUDIT_ACTIONS, type AuditEntryInput, appendAudit } from '../../audit/index.js';
import { type Db, queryRows, sql } from '../../db/client.js';

/** The audit chain of clinic and portal lookups (they span tenants, so they have their own). */
export const LOOKUP_AUDIT_CHAIN = 'lookups';

interface Pending {
  jti?: { jti: string; expiresAt: Date };
  entry: AuditEntryInput;
  resolve: (outcome: 'committed' | 'replayed') => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for lookups: each lookup's audit entry (and, for a clinic lookup, its linkage
 * key's nonce) is committed before its answer is sent — no entry can be lost once an answer
 * is out — but many lookups share one transaction, so the audit costs one commit per batch,
 * not per request. A nonce already used (or used twice in one batch) comes back `replayed`
 * and its lookup must not be answered.
 *
 * @example
 * const outcome = await committer.commit({ jti, entry });
 */
export class LookupCommitter {
  #queue: Pending[] = [];
  #flushing = false;

  constructor(private readonly deps: { db: Db; clock: () => Date; maxBatch?: number }) {}

  /** Resolves once the entry (and nonce) is durable, or with `replayed` when the nonce was used. */
  commit(item: {
    jti?: { jti: string; expiresAt: Date };
    entry: AuditEntryInput;
  }): Promise<'committed' | 'replayed'> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ ...item, resolve, reject });
      if (!this.#flushing) {
        this.#flushing = true;
        setImmediate(() => void this.#drain());
      }
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.deps.maxBatch ?? 500);
      try {
        const outcomes = await this.#write(batch);
        batch.forEach((p, i) => {
          p.resolve(outcomes[i] ?? 'replayed');
        });
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
    this.#flushing = false;
  }

  async #write(batch: Pending[]): Promise<('committed' | 'replayed')[]> {
    return this.deps.db.transaction(async (tx) => {
      const seen = new Set<string>();
      const fresh = new Map<string, Date>();
      const firstUse = batch.map((p) => {
        if (!p.jti) return true;
        if (seen.has(p.jti.jti)) return false;
        seen.add(p.jti.jti);
        fresh.set(p.jti.jti, p.jti.expiresAt);
        return true;
      });
      let inserted = new Set<string>();
      if (fresh.size > 0) {
        const rows = await queryRows<{ jti: string }>(
          tx,
          sql`insert into hub.used_linkage_keys (jti, expires_at)
              select x.jti, x.expires_at from jsonb_to_recordset(${JSON.stringify(
                [...fresh].map(([jti, expiresAt]) => ({ jti, expires_at: expiresAt.toISOString() })),
              )}::jsonb) as x(jti text, expires_at timestamptz)
              on conflict do nothing returning jti`,
        );
        inserted = new Set(rows.map((r) => r.jti));
      }
      const outcomes = batch.map((p, i) =>
        firstUse[i] && (!p.jti || inserted.has(p.jti.jti)) ? ('committed' as const) : ('replayed' as const),
      );
      const entries = batch.map((p, i) =>
        outcomes[i] === 'committed'
          ? p.entry
          : {
              ...p.entry,
              action: AUDIT_ACTIONS.linkageKeyReplayed,
              detail: { requestId: p.entry.requestId },
            },
      );
      await appendAudit(tx, LOOKUP_AUDIT_CHAIN, entries, this.deps.clock());
      return outcomes;
    });
  }
}
