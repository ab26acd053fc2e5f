import { eq, sql } from 'drizzle-orm';
import type postgres from 'postgres';
import { type Actor, AUDIT_ACTIONS, appendAudit } from '../../audit/index.js';
import {
  type AgreedKey,
  hmac,
  type KeyRing,
  type LinkageKeyRefusal,
  openLinkageKey,
} from '../../crypto/index.js';
import type { Db } from '../../db/client.js';
import { pseudonyms } from '../pmh.tables.js';
import { LOOKUP_AUDIT_CHAIN, LookupCommitter } from './lookup-committer.js';
import { type LookupJob, type LookupJobOutcome, lookupItem } from './lookup-jobs.js';
import { LookupWorkerClient } from './lookup-worker-client.js';
import type { LookupAnswer } from './lookups.schemas.js';
import { READ_MODEL_SCOPE } from './read-model.js';

/**
 * A lookup's answer as JSON text (the {@link LookupAnswer} shape), built without parsing the
 * entitlements: the JSON answer is sent as it is; `parse()` gives the object (the FHIR answer).
 */
export class LookupAnswerJson {
  constructor(readonly text: string) {}

  parse(): LookupAnswer {
    return JSON.parse(this.text) as LookupAnswer;
  }
}

/** Who asks and for which request. */
export interface LookupCaller {
  actor: Actor;
  requestId: string;
}

/** Dependencies of the lookups. */
export interface LookupDeps {
  db: Db;
  keyRing: KeyRing;
  clock: () => Date;
  /** The linkage-key keys the hub accepts now, by `kid` (rotation: several epochs at once). */
  linkageKeys: () => ReadonlyMap<string, AgreedKey>;
  /** The postgres.js client under `db`, if any: the group commit pipelines its statements. */
  sql?: postgres.Sql;
  /**
   * Run the lookups' group commit on a worker thread with its own connections to this
   * PostgreSQL database (LOOKUP_WORKER). Its audit entries are timestamped with the real
   * clock, not `clock`. Absent: the group commit runs in this thread, on `db`.
   */
  worker?: { databaseUrl: string; maxInFlight?: number };
}

/**
 * Entitlement lookups (seed ㉘ ㉙): clinics through a one-time linkage key, residents through
 * their portal pseudonym. Both read the cross-tenant read model, which holds no 個人番号;
 * 不開示 and 閲覧停止 entitlements are never returned; the answer does not tell "no consent"
 * from "no entitlement"; every lookup is audited durably before its answer leaves.
 *
 * @example
 * const lookups = new LookupService({ db, keyRing, clock, linkageKeys: () => keys });
 */
export class LookupService {
  readonly #committer: LookupCommitter;
  #worker: Promise<LookupWorkerClient> | undefined;

  constructor(private readonly deps: LookupDeps) {
    this.#committer = new LookupCommitter({
      db: deps.db,
      clock: deps.clock,
      ...(deps.sql ? { sql: deps.sql } : {}),
    });
  }

  /** Commits one lookup (its audit entry, its nonce) in the worker or in this thread. */
  async #commit(job: LookupJob): Promise<LookupJobOutcome> {
    const worker = this.deps.worker;
    if (worker) {
      this.#worker ??= this.deps.keyRing.forScope(READ_MODEL_SCOPE).then(
        ({ dataKey }) =>
          new LookupWorkerClient({
            databaseUrl: worker.databaseUrl,
            dataKey,
            ...(worker.maxInFlight === undefined ? {} : { maxInFlight: worker.maxInFlight }),
          }),
      );
      return (await this.#worker).commit(job);
    }
    const { dataKey } = await this.deps.keyRing.forScope(READ_MODEL_SCOPE);
    const outcome = await this.#committer.commit(lookupItem(job, dataKey));
    return outcome.ok ? { ok: true, entitlements: outcome.value } : outcome;
  }

  /**
   * A clinic's lookup: opens the linkage key (refusing a malformed, tampered, expired or
   * replayed one), and answers the person's entitlements valid on the date of care, across
   * every tenant, with whether the asking institution is a designated one.
   */
  async resolveLinkageKey(
    caller: LookupCaller,
    input: { linkageKey: string; institutionCode: string; dateOfCare: string },
  ): Promise<{ ok: true; answer: LookupAnswerJson } | { ok: false; reason: LinkageKeyRefusal | 'replayed' }> {
    const opened = await openLinkageKey(this.deps.linkageKeys(), input.linkageKey, this.deps.clock());
    if (!opened.ok) {
      await this.#commit({
        kind: 'refused',
        actor: caller.actor,
        requestId: caller.requestId,
        reason: opened.reason,
        institutionCode: input.institutionCode,
      });
      return { ok: false, reason: opened.reason };
    }
    const { claims } = opened;
    const outcome = await this.#commit({
      kind: 'clinic',
      actor: caller.actor,
      requestId: caller.requestId,
      pmhId: claims.pmhId,
      jti: claims.jti,
      expiresAt: claims.exp * 1000,
      institutionCode: input.institutionCode,
      dateOfCare: input.dateOfCare,
    });
    if (!outcome.ok) return { ok: false, reason: 'replayed' };
    // The members in LookupAnswer's order, the entitlements' JSON text as the worker made it.
    return {
      ok: true,
      answer: new LookupAnswerJson(
        `{"requestId":${JSON.stringify(caller.requestId)},"dateOfCare":${JSON.stringify(input.dateOfCare)},"institutionCode":${JSON.stringify(input.institutionCode)},"entitlements":${outcome.entitlements}}`,
      ),
    };
  }

  /**
   * The portal's first use for a resident (seed ㉘): records (card serial, pseudonym) → PMH-ID.
   * The card serial is kept only as a keyed digest. A pseudonym already linked to another
   * person is refused.
   */
  async linkPseudonym(
    caller: LookupCaller,
    input: { cardSerial: string; pseudonym: string; pmhId: string },
  ): Promise<{ ok: true } | { ok: false; reason: 'conflict' }> {
    const { blindIndexKey } = await this.deps.keyRing.forScope(READ_MODEL_SCOPE);
    const now = this.deps.clock();
    return this.deps.db.transaction(async (tx) => {
      const inserted = await tx
        .insert(pseudonyms)
        .values({
          pseudonym: input.pseudonym,
          pmhId: input.pmhId,
          cardSerialDigest: hmac(blindIndexKey, input.cardSerial),
          createdAt: now,
        })
        .onConflictDoNothing()
        .returning({ pmhId: pseudonyms.pmhId });
      if (inserted.length === 0) {
        const [existing] = await tx
          .select()
          .from(pseudonyms)
          .where(eq(pseudonyms.pseudonym, input.pseudonym));
        if (existing?.pmhId !== input.pmhId) return { ok: false, reason: 'conflict' };
      }
      await appendAudit(
        tx,
        LOOKUP_AUDIT_CHAIN,
        [
          {
            actor: caller.actor,
            action: AUDIT_ACTIONS.portalPseudonymLinked,
            subjectRef: input.pmhId,
            requestId: caller.requestId,
          },
        ],
        now,
      );
      return { ok: true };
    });
  }

  /** A resident's own entitlements through the portal; an unknown pseudonym answers like "none". */
  async lookupByPseudonym(
    caller: LookupCaller,
    input: { pseudonym: string; dateOfCare: string },
  ): Promise<LookupAnswerJson> {
    const outcome = await this.#commit({
      kind: 'portal',
      actor: caller.actor,
      requestId: caller.requestId,
      pseudonym: input.pseudonym,
      dateOfCare: input.dateOfCare,
    });
    // Only a lookup with a nonce can be a replay; this one always has its answer.
    const entitlements = outcome.ok ? outcome.entitlements : '[]';
    return new LookupAnswerJson(
      `{"requestId":${JSON.stringify(caller.requestId)},"dateOfCare":${JSON.stringify(input.dateOfCare)},"entitlements":${entitlements}}`,
    );
  }

  /** Removes used linkage-key nonces past their expiry (they can no longer be replayed anyway). */
  async purgeExpiredKeys(): Promise<void> {
    await this.deps.db.execute(
      sql`delete from hub.used_linkage_keys where expires_at < now() - interval '1 minute'`,
    );
  }

  /** Stops the lookup worker, if one runs, after the lookups in flight. */
  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    if (worker) await (await worker).close();
  }
}
