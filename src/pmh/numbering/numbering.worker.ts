import { randomUUID } from 'node:crypto';
import { setImmediate as yieldToIo } from 'node:timers/promises';
import { and, eq, type SQL, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import {
  AUDIT_ACTIONS,
  type AuditEntryInput,
  appendAudit,
  appendAuditAt,
  lockAuditChain,
} from '../../audit/index.js';
import { type KeyRing, openJson } from '../../crypto/index.js';
import { inList } from '../../db/bulk.js';
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
import { type NumberingStatus, numberingQueue, subjects } from '../pmh.tables.js';

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
  subjectIds: string[];
  /** The claimed subjects that still exist, sealed. */
  sealed: { id: string; sealed: Buffer }[];
}

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
    this.#batchSize = deps.batchSize ?? 2000;
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
      await this.deps.db.delete(numberingQueue).where(eq(numberingQueue.batchId, batch.batchId));
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

  async #claim(): Promise<Claimed | undefined> {
    const lease = this.#leaseMs / 1000;
    return this.deps.db.transaction(async (tx) => {
      // A due batch is taken whole by one loop: locking one of its rows (`for update skip
      // locked`) let two loops lock two rows of the same batch and then deadlock on each other's
      // row while claiming the rest (PostgreSQL aborts one after deadlock_timeout, again and again
      // after an insurer outage). So each loop takes the batch's advisory lock, for this
      // transaction, and skips a batch another loop holds (the filter runs over the due batches
      // in order and stops at the first it gets).
      const retry = await queryRows<{ batch_id: string }>(
        tx,
        sql`select b.batch_id from (
              select batch_id, min(next_attempt_at) as due from hub.numbering_queue
               where batch_id is not null and next_attempt_at <= now()
               group by batch_id order by due limit 8) b
             where pg_try_advisory_xact_lock(hashtextextended('numbering:' || b.batch_id, 0))
             limit 1`,
      );
      let batchId = retry[0]?.batch_id;
      let claim: SQL;
      if (!batchId) {
        batchId = `nb-${randomUUID()}`;
        // One statement claims the subjects, sets their lease and reads them. A waiting row
        // (batch_id null) has next_attempt_at = enqueued_at, so the oldest come first along the
        // next_attempt_at index (`coalesce` keeps the planner off the batch_id index, whose
        // scan read and sorted the whole queue for every batch).
        claim = sql`update hub.numbering_queue
                       set batch_id = ${batchId}, next_attempt_at = now() + make_interval(secs => ${lease})
                     where subject_id in (
                       select subject_id from hub.numbering_queue
                        where coalesce(batch_id, '') = '' and next_attempt_at <= now()
                          and tenant_code = (select tenant_code from hub.numbering_queue
                                              where coalesce(batch_id, '') = '' and next_attempt_at <= now()
                                              order by next_attempt_at limit 1)
                        order by next_attempt_at limit ${this.#batchSize}
                        for update skip locked)
                    returning subject_id, tenant_code, attempts`;
      } else {
        claim = sql`update hub.numbering_queue set next_attempt_at = now() + make_interval(secs => ${lease})
                     where batch_id = ${batchId} returning subject_id, tenant_code, attempts`;
      }
      const rows = await queryRows<{
        subject_id: string;
        tenant_code: string;
        attempts: number;
        sealed: string | null;
      }>(
        tx,
        sql`with claimed as (${claim})
            select c.subject_id, c.tenant_code, c.attempts, encode(s.sealed, 'base64') as sealed
              from claimed c
              left join lateral (select sealed from hub.subjects s
                                  where s.id = c.subject_id and s.tenant_code = c.tenant_code offset 0) s on true
             order by c.subject_id`,
      );
      const first = rows[0];
      if (!first) return undefined;
      return {
        batchId,
        tenantCode: first.tenant_code,
        attempts: Math.max(...rows.map((r) => r.attempts)),
        subjectIds: rows.map((r) => r.subject_id),
        sealed: rows.flatMap((r) =>
          r.sealed ? [{ id: r.subject_id, sealed: Buffer.from(r.sealed, 'base64') }] : [],
        ),
      };
    });
  }

  /**
   * Records a batch's answer in one transaction, holding the tenant's audit chain (which
   * every hub writer takes first) only for the writes: the subjects still claimed by this
   * batch (a subject registered again meanwhile was re-queued and is left to its next
   * batch, so a stale answer is never recorded), their read-model faces (sealed ahead), the
   * queue and the audit entries.
   */
  async #record(
    batch: Claimed,
    ids: string[],
    answer: NumberingAnswerItem[],
    faces: PreparedFaces,
  ): Promise<void> {
    const now = this.deps.clock();
    const byId = new Map<string, NumberingAnswerItem>();
    const changes = ids.flatMap((id, i) => {
      const item = answer[i];
      if (!item) return [];
      byId.set(id, item);
      const status = STATUS_BY_OUTCOME[item.outcome];
      return [
        {
          id,
          pmh_id: item.pmhId,
          status,
          reasons: item.reasons?.length ? JSON.stringify(item.reasons) : null,
          numbered_at: status === 'numbered' ? now.toISOString() : null,
        },
      ];
    });
    const changesJson = JSON.stringify(changes);
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
        sql`with claimed as (
              delete from hub.numbering_queue
               where batch_id = ${batch.batchId} and tenant_code = ${batch.tenantCode}
              returning subject_id
            ), recorded as (
              update hub.subjects t
                 set pmh_id = coalesce(x.pmh_id, t.pmh_id),
                     numbering_status = x.status,
                     numbering_reasons = x.reasons,
                     numbered_at = x.numbered_at,
                     viewing_suspended = case
                       when x.status = 'cross-check-failed' then true
                       when x.status = 'numbered' and t.suspended_by_cross_check then false
                       else t.viewing_suspended end,
                     suspended_by_cross_check = case
                       when x.status = 'cross-check-failed' and not t.viewing_suspended then true
                       when x.status = 'numbered' then false
                       else t.suspended_by_cross_check end
                from json_to_recordset(${changesJson}::json)
                     as x(id uuid, pmh_id text, status text, reasons text, numbered_at timestamptz)
               where t.id = x.id and x.id in (select subject_id from claimed)
              returning t.id, t.tenant_code, t.pmh_id, t.is_not_disclosed, t.viewing_suspended
            ), ${publishFacesCtes(faces)}
            select (select json_agg(json_build_object('id', id, 'tenant_code', tenant_code, 'pmh_id', pmh_id))
                      from recorded) as recorded,
                   (select count(*) from faces_upserted)::int as faces_published,
                   ${facesDue(batch.tenantCode)} as faces_due`,
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
    await this.deps.db.transaction(async (tx) => {
      if (givenUp) {
        await lockAuditChain(tx, batch.tenantCode);
        await tx
          .update(subjects)
          .set({ numberingStatus: 'given-up' })
          .where(and(eq(subjects.tenantCode, batch.tenantCode), inList(subjects.id, ids, 'uuid')));
        await tx.delete(numberingQueue).where(eq(numberingQueue.batchId, batch.batchId));
        await appendAudit(
          tx,
          batch.tenantCode,
          ids.map((id) => ({
            actor: { kind: 'system' as const, id: 'numbering' },
            action: AUDIT_ACTIONS.subjectNumberingFailed,
            subjectRef: id,
            requestId: batch.batchId,
            detail: { error: err.name, attempts },
          })),
          this.deps.clock(),
        );
        return;
      }
      await tx
        .update(subjects)
        .set({ numberingStatus: 'retrying' })
        .where(and(eq(subjects.tenantCode, batch.tenantCode), inList(subjects.id, ids, 'uuid')));
      await tx
        .update(numberingQueue)
        .set({
          attempts,
          lastError: err.name,
          nextAttemptAt: sql`now() + make_interval(secs => ${delay / 1000})`,
        })
        .where(eq(numberingQueue.batchId, batch.batchId));
    });
  }
}
