import { randomUUID } from 'node:crypto';
import { setImmediate as yieldToIo } from 'node:timers/promises';
import { eq, type SQL, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import {
  AUDIT_ACTIONS,
  type AuditEntryInput,
  appendAudit,
  appendAuditAt,
  lockAuditChain,
} from '../../audit/index.js';
import { type KeyRing, openJson } from '../../crypto/index.js';
import { arrayLiteral } from '../../db/bulk.js';
import { type Db, queryRows } from '../../db/client.js';
import { PollingLoop } from '../../db/polling-loop.js';
import {
  type NumberingAnswerItem,
  type NumberingPort,
  NumberingProtocolError,
  type NumberingRequestItem,
} from '../../intermediate/insurer/index.js';
import {
  facesDue,
  type PreparedFaces,
  prepareFaces,
  publishFacesCtes,
  refreshStaleFaces,
} from '../lookups/read-model.js';
import type { SubjectSecret } from '../pmh.repository.js';
import { type NumberingStatus, numberingBatches } from '../pmh.tables.js';

/** Options of the numbering worker. */
export interface NumberingWorkerDeps {
  db: Db;
  keyRing: KeyRing;
  port: NumberingPort;
  clock: () => Date;
  logger: Logger;
  batchSize?: number;
  /** After this many failed attempts a subject is `given-up` (visible, re-queued by a new registration). */
  maxAttempts?: number;
  /** Base and cap of the retry delay between attempts of a batch (exponential, full jitter). */
  retry?: { baseMs: number; maxMs: number };
  /** How long a claimed batch is hidden from other workers while its call is under way. */
  leaseMs?: number;
  /** Batches in flight at once (each its own call to the intermediate server). */
  concurrency?: number;
}

interface Claimed {
  batchId: string;
  tenantCode: string;
  attempts: number;
  /** The batch's subjects that still exist, in the order sent, sealed. */
  sealed: { id: string; sealed: Buffer }[];
  /** Each subject's numbering generation when the batch was claimed (the answer is for that one). */
  generations: Map<string, number>;
}

/** A claimed batch's rows: one per subject, the batch's columns repeated. */
interface ClaimRow {
  batch_id: string;
  tenant_code: string;
  attempts: number;
  subject_id: string;
  generation: number;
  sealed: string | null;
}

/** A batch's idempotency key, sent to the intermediate server with every attempt. */
const newBatchId = () => `nb-${randomUUID()}`;

const STATUS_BY_OUTCOME: Record<NumberingAnswerItem['outcome'], NumberingStatus> = {
  assigned: 'numbered',
  existing: 'numbered',
  'cross-check-failed': 'cross-check-failed',
  'not-found': 'not-found',
};

/**
 * The hub's side of PMH-ID numbering (seed ㉗): takes subjects from the numbering queue in
 * batches (one tenant at a time), asks the insurer intermediate server through the
 * {@link NumberingPort}, and records each subject's outcome — numbered, cross-check failed
 * (then 閲覧停止 until the case system corrects the record), not found, retrying or given up.
 *
 * @example
 * const worker = new NumberingWorker({ db, keyRing, port, clock, logger });
 * worker.start();
 */
export class NumberingWorker {
  readonly #loop: PollingLoop;
  readonly #batchSize: number;
  readonly #maxAttempts: number;
  readonly #retry: { baseMs: number; maxMs: number };
  readonly #leaseMs: number;

  constructor(private readonly deps: NumberingWorkerDeps) {
    this.#batchSize = deps.batchSize ?? 3000;
    this.#maxAttempts = deps.maxAttempts ?? 8;
    this.#retry = deps.retry ?? { baseMs: 1000, maxMs: 60_000 };
    this.#leaseMs = deps.leaseMs ?? 60_000;
    this.#loop = new PollingLoop({
      step: () => this.processNext(),
      concurrency: deps.concurrency ?? 3,
      onError: (err) => deps.logger.error({ err: { name: (err as Error).name } }, 'numbering worker error'),
    });
  }

  /** Starts the background loops. */
  start(): void {
    this.#loop.start();
  }

  /** Stops after the batches in hand. */
  stop(): Promise<void> {
    return this.#loop.stop();
  }

  /** Wakes the loops (after a registration queued subjects). */
  nudge(): void {
    this.#loop.nudge();
  }

  /** Claims one due batch and numbers it. False when nothing is due. */
  async processNext(): Promise<boolean> {
    const batch = await this.#claim();
    if (!batch) return false;
    const { dataKey } = await this.deps.keyRing.forScope(batch.tenantCode);
    const rows = batch.sealed;
    const items: NumberingRequestItem[] = [];
    const ids: string[] = [];
    for (const [i, row] of rows.entries()) {
      // Slices, so the other loop's transaction is not kept waiting for this one's CPU work.
      if (i > 0 && i % 256 === 0) await yieldToIo();
      const secret = openJson<SubjectSecret>(dataKey, row.sealed, `subject:${batch.tenantCode}:${row.id}`);
      items.push({ myNumber: secret.myNumber, basicFiveInfo: secret.basicFiveInfo });
      ids.push(row.id);
    }
    if (items.length === 0) {
      await this.deps.db.delete(numberingBatches).where(eq(numberingBatches.batchId, batch.batchId));
      return true;
    }
    // While the insurer answers, seal the subjects' read-model faces (no lock held; checked
    // against the entitlements' row versions when they are published).
    const faces = prepareFaces(this.deps.db, this.deps.keyRing, batch.tenantCode, ids);
    faces.catch(() => {});
    let answer: NumberingAnswerItem[];
    try {
      answer = await this.deps.port.requestPmhIds({ idempotencyKey: batch.batchId, items });
      if (answer.length !== items.length)
        throw new NumberingProtocolError('answer length differs from the request');
    } catch (err) {
      await this.#failed(batch, ids, err as Error);
      return true;
    }
    await this.#record(batch, ids, answer, await faces);
    return true;
  }

  /**
   * A due batch first (its lease ran out, or its next attempt is due), taken whole by this
   * loop; else the oldest waiting subjects of one tenant, moved out of the queue into a new
   * batch row. Either way with its subjects in the order sent.
   */
  async #claim(): Promise<Claimed | undefined> {
    const lease = sql`now() + make_interval(secs => ${this.#leaseMs / 1000})`;
    return this.deps.db.transaction(async (tx) => {
      const due = await this.#claimDue(tx, lease);
      const rows = due.length > 0 ? due : await this.#claimWaiting(tx, lease);
      const first = rows[0];
      if (!first) return undefined;
      let batchId = first.batch_id;
      if (due.length > 0 && due.some((r) => r.sealed === null)) {
        // Some of a retried batch's subjects were deleted since it was sent: the answer stored
        // under its key covers them too and would be refused as the wrong length, again and
        // again. The rest go under a new key (an insurer answers an already numbered person
        // with the same PMH-ID, as `existing`).
        batchId = newBatchId();
        await queryRows(
          tx,
          sql`update hub.numbering_batches set batch_id = ${batchId} where batch_id = ${first.batch_id}`,
        );
      }
      return {
        batchId,
        tenantCode: first.tenant_code,
        attempts: first.attempts,
        sealed: rows.flatMap((r) =>
          r.sealed ? [{ id: r.subject_id, sealed: Buffer.from(r.sealed, 'base64') }] : [],
        ),
        generations: new Map(rows.map((r) => [r.subject_id, r.generation])),
      };
    });
  }

  /** The due batch with the earliest due time that no other loop holds, its lease renewed. */
  #claimDue(tx: Db, lease: SQL): Promise<ClaimRow[]> {
    return queryRows<ClaimRow>(
      tx,
      sql`with b as (
            update hub.numbering_batches set next_attempt_at = ${lease}
             where batch_id = (select batch_id from hub.numbering_batches where next_attempt_at <= now()
                                order by next_attempt_at limit 1 for update skip locked)
            returning batch_id, tenant_code, attempts, subject_ids, generations)
          select b.batch_id, b.tenant_code, b.attempts, x.id as subject_id, x.generation,
                 encode(s.sealed, 'base64') as sealed
            from b cross join lateral unnest(b.subject_ids, b.generations) with ordinality as x(id, generation, n)
            left join lateral (select sealed from hub.subjects s
                                where s.id = x.id and s.tenant_code = b.tenant_code offset 0) s on true
           order by x.n`,
    );
  }

  /** The oldest waiting subjects of one tenant, as a new batch row; none when nothing waits. */
  async #claimWaiting(tx: Db, lease: SQL): Promise<ClaimRow[]> {
    // They leave the queue one loop at a time (a lock for this transaction: locking each row
    // first, `for update skip locked`, wrote every row twice) ...
    await queryRows(tx, sql`select pg_advisory_xact_lock(hashtextextended('numbering:claim', 0))`);
    const taken = await queryRows<{ subject_id: string; tenant_code: string }>(
      tx,
      sql`delete from hub.numbering_queue where subject_id in (
            select subject_id from hub.numbering_queue
             where tenant_code = (select tenant_code from hub.numbering_queue order by enqueued_at limit 1)
             order by enqueued_at limit ${this.#batchSize})
          returning subject_id, tenant_code`,
    );
    const tenantCode = taken[0]?.tenant_code;
    if (!tenantCode) return [];
    // ... and, in a second statement, become a batch row with the subjects as they stand now.
    // Its snapshot is taken after the queue rows were deleted, so it sees a registration that
    // committed meanwhile (within one statement it would read the subject as it was, and the
    // answer for that old version would be dropped at record time, leaving the subject with no
    // queue row).
    return queryRows<ClaimRow>(
      tx,
      sql`with claimed as (
            select x.id as subject_id, s.numbering_generation, s.sealed
              from unnest(${arrayLiteral(taken.map((t) => t.subject_id))}::uuid[]) as x(id)
              left join lateral (select numbering_generation, sealed from hub.subjects s
                                  where s.id = x.id and s.tenant_code = ${tenantCode} offset 0) s on true
          ), b as (
            insert into hub.numbering_batches
                   (batch_id, tenant_code, subject_ids, generations, next_attempt_at, claimed_at)
            select ${newBatchId()}, ${tenantCode}, array_agg(subject_id order by subject_id),
                   array_agg(coalesce(numbering_generation, 0) order by subject_id), ${lease}, now()
              from claimed
            returning batch_id, tenant_code, attempts)
          select b.batch_id, b.tenant_code, b.attempts, c.subject_id,
                 coalesce(c.numbering_generation, 0) as generation, encode(c.sealed, 'base64') as sealed
            from b, claimed c order by c.subject_id`,
    );
  }

  /**
   * Records a batch's answer in one transaction, holding the tenant's audit chain (which
   * every hub writer takes first) only for the writes: the batch's subjects still at the
   * generation it sent (a subject registered again meanwhile was queued again and is left to
   * a later batch, so a stale answer is never recorded), their read-model faces (sealed
   * ahead), the batch row and the audit entries.
   */
  async #record(
    batch: Claimed,
    ids: string[],
    answer: NumberingAnswerItem[],
    faces: PreparedFaces,
  ): Promise<void> {
    const now = this.deps.clock();
    const byId = new Map<string, NumberingAnswerItem>();
    // The answer as columns (array literals: one parameter each, read fast by PostgreSQL).
    const col = {
      id: [] as string[],
      generation: [] as (number | undefined)[],
      pmhId: [] as (string | null)[],
      status: [] as NumberingStatus[],
      reasons: [] as (string | null)[],
    };
    for (const [i, id] of ids.entries()) {
      const item = answer[i];
      if (!item) continue;
      byId.set(id, item);
      col.id.push(id);
      col.generation.push(batch.generations.get(id));
      col.pmhId.push(item.pmhId);
      col.status.push(STATUS_BY_OUTCOME[item.outcome]);
      col.reasons.push(item.reasons?.length ? JSON.stringify(item.reasons) : null);
    }
    await this.deps.db.transaction(async (tx) => {
      const head = await lockAuditChain(tx, batch.tenantCode);
      // One statement: only the subjects this batch still holds in the queue, their flags as
      // recorded (a failed cross-check suspends viewing, remembering why; a later success lifts
      // it) and their read-model faces (sealed ahead) as the subjects now stand.
      const [result] = await queryRows<{
        recorded: { id: string; tenant_code: string; pmh_id: string | null }[] | null;
        faces_published: number;
        faces_due: number;
      }>(
        tx,
        sql`with batch as (
              delete from hub.numbering_batches where batch_id = ${batch.batchId} and tenant_code = ${batch.tenantCode}
              returning 1
            ), recorded as (
              update hub.subjects t
                 set pmh_id = coalesce(x.pmh_id, t.pmh_id),
                     numbering_status = x.status,
                     numbering_reasons = x.reasons,
                     numbered_at = case when x.status = 'numbered' then ${now.toISOString()}::timestamptz end,
                     viewing_suspended = case
                       when x.status = 'cross-check-failed' then true
                       when x.status = 'numbered' and t.suspended_by_cross_check then false
                       else t.viewing_suspended end,
                     suspended_by_cross_check = case
                       when x.status = 'cross-check-failed' and not t.viewing_suspended then true
                       when x.status = 'numbered' then false
                       else t.suspended_by_cross_check end
                from unnest(${arrayLiteral(col.id)}::uuid[], ${arrayLiteral(col.generation)}::int[],
                            ${arrayLiteral(col.pmhId)}::text[], ${arrayLiteral(col.status)}::text[],
                            ${arrayLiteral(col.reasons)}::text[]) as x(id, generation, pmh_id, status, reasons)
               where t.id = x.id and t.numbering_generation = x.generation and exists (select 1 from batch)
              returning t.id, t.tenant_code, t.pmh_id, t.is_not_disclosed, t.viewing_suspended
            ), ${publishFacesCtes(faces)}
            select (select json_agg(json_build_object('id', id, 'tenant_code', tenant_code, 'pmh_id', pmh_id))
                      from recorded) as recorded,
                   (select count(*) from faces_upserted)::int as faces_published,
                   ${facesDue()} as faces_due`,
      );
      const recorded = result?.recorded ?? [];
      // The queue row names the subject's tenant; checked here rather than in the statement,
      // where the tenant column drew the planner into reading all of the tenant's subjects.
      if (recorded.some((r) => r.tenant_code !== batch.tenantCode))
        throw new Error('numbering queue row of another tenant');
      // Faces of entitlements changed since they were sealed were not published: refresh those.
      if (result && result.faces_published !== result.faces_due)
        await refreshStaleFaces(
          tx,
          this.deps.keyRing,
          batch.tenantCode,
          recorded.flatMap((r) => (r.pmh_id ? [r.id] : [])),
        );
      const audit: AuditEntryInput[] = [];
      const done = new Set(recorded.map((r) => r.id));
      for (const id of ids) {
        const item = byId.get(id);
        if (!item || !done.has(id)) continue;
        audit.push({
          actor: { kind: 'system', id: 'numbering' },
          action:
            STATUS_BY_OUTCOME[item.outcome] === 'numbered'
              ? AUDIT_ACTIONS.subjectNumbered
              : AUDIT_ACTIONS.subjectCrossCheckFailed,
          subjectRef: id,
          requestId: batch.batchId,
          detail: { outcome: item.outcome, ...(item.reasons?.length ? { reasons: item.reasons } : {}) },
        });
      }
      await appendAuditAt(tx, batch.tenantCode, head, audit, now);
    });
  }

  async #failed(batch: Claimed, ids: string[], err: Error): Promise<void> {
    const attempts = batch.attempts + 1;
    const givenUp = attempts >= this.#maxAttempts;
    const delay = Math.random() * Math.min(this.#retry.maxMs, this.#retry.baseMs * 2 ** attempts);
    this.deps.logger.warn(
      { batchId: batch.batchId, attempts, givenUp, error: err.name, subjects: ids.length },
      'numbering batch failed',
    );
    const status: NumberingStatus = givenUp ? 'given-up' : 'retrying';
    await this.deps.db.transaction(async (tx) => {
      if (givenUp) await lockAuditChain(tx, batch.tenantCode);
      // The subjects still at the generation sent (not those registered again meanwhile).
      const generations = ids.map((id) => batch.generations.get(id));
      const marked = await queryRows<{ id: string }>(
        tx,
        sql`update hub.subjects t set numbering_status = ${status}
              from unnest(${arrayLiteral(ids)}::uuid[], ${arrayLiteral(generations)}::int[]) as x(id, generation)
             where t.id = x.id and t.numbering_generation = x.generation and t.tenant_code = ${batch.tenantCode}
               and exists (select 1 from hub.numbering_batches where batch_id = ${batch.batchId})
            returning t.id`,
      );
      if (!givenUp) {
        await tx
          .update(numberingBatches)
          .set({
            attempts,
            lastError: err.name,
            nextAttemptAt: sql`now() + make_interval(secs => ${delay / 1000})`,
          })
          .where(eq(numberingBatches.batchId, batch.batchId));
        return;
      }
      await tx.delete(numberingBatches).where(eq(numberingBatches.batchId, batch.batchId));
      await appendAudit(
        tx,
        batch.tenantCode,
        marked.map(({ id }) => ({
          actor: { kind: 'system' as const, id: 'numbering' },
          action: AUDIT_ACTIONS.subjectNumberingFailed,
          subjectRef: id,
          requestId: batch.batchId,
          detail: { error: err.name, attempts },
        })),
        this.deps.clock(),
      );
    });
  }
}
