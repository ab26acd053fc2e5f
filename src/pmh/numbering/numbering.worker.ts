import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { AUDIT_ACTIONS, type AuditEntryInput, appendAudit, lockAuditChain } from '../../audit/index.js';
import { type KeyRing, openJson } from '../../crypto/index.js';
import { bulkUpdate, inList } from '../../db/bulk.js';
import { type Db, queryRows } from '../../db/client.js';
import { PollingLoop } from '../../db/polling-loop.js';
import {
  type NumberingAnswerItem,
  type NumberingPort,
  NumberingProtocolError,
  type NumberingRequestItem,
} from '../../intermediate/insurer/index.js';
import { refreshReadModel } from '../lookups/read-model.js';
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
    this.#batchSize = deps.batchSize ?? 1000;
    this.#maxAttempts = deps.maxAttempts ?? 8;
    this.#retry = deps.retry ?? { baseMs: 1000, maxMs: 60_000 };
    this.#leaseMs = deps.leaseMs ?? 60_000;
    this.#loop = new PollingLoop({
      step: () => this.processNext(),
      concurrency: deps.concurrency ?? 2,
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
    const rows = await this.deps.db
      .select({ id: subjects.id, sealed: subjects.sealed })
      .from(subjects)
      .where(and(eq(subjects.tenantCode, batch.tenantCode), inList(subjects.id, batch.subjectIds, 'uuid')));
    const items: NumberingRequestItem[] = [];
    const ids: string[] = [];
    for (const row of rows) {
      const secret = openJson<SubjectSecret>(dataKey, row.sealed, `subject:${batch.tenantCode}:${row.id}`);
      items.push({ myNumber: secret.myNumber, basicFiveInfo: secret.basicFiveInfo });
      ids.push(row.id);
    }
    if (items.length === 0) {
      await this.deps.db.delete(numberingQueue).where(eq(numberingQueue.batchId, batch.batchId));
      return true;
    }
    let answer: NumberingAnswerItem[];
    try {
      answer = await this.deps.port.requestPmhIds({ idempotencyKey: batch.batchId, items });
      if (answer.length !== items.length)
        throw new NumberingProtocolError('answer length differs from the request');
    } catch (err) {
      await this.#failed(batch, ids, err as Error);
      return true;
    }
    await this.#record(batch, ids, answer);
    return true;
  }

  async #claim(): Promise<Claimed | undefined> {
    const lease = this.#leaseMs / 1000;
    return this.deps.db.transaction(async (tx) => {
      const retry = await queryRows<{ batch_id: string }>(
        tx,
        sql`select batch_id from hub.numbering_queue where batch_id is not null and next_attempt_at <= now()
             order by next_attempt_at limit 1 for update skip locked`,
      );
      let batchId = retry[0]?.batch_id;
      type Row = { subject_id: string; tenant_code: string; attempts: number };
      let rows: Row[];
      if (!batchId) {
        batchId = `nb-${randomUUID()}`;
        // One statement claims the subjects and sets their lease.
        rows = await queryRows<Row>(
          tx,
          sql`update hub.numbering_queue
                 set batch_id = ${batchId}, next_attempt_at = now() + make_interval(secs => ${lease})
               where subject_id in (
                 select subject_id from hub.numbering_queue
                  where batch_id is null and next_attempt_at <= now()
                    and tenant_code = (select tenant_code from hub.numbering_queue
                                        where batch_id is null and next_attempt_at <= now()
                                        order by enqueued_at limit 1)
                  order by enqueued_at limit ${this.#batchSize}
                  for update skip locked)
               returning subject_id, tenant_code, attempts`,
        );
        if (rows.length === 0) return undefined;
      } else {
        rows = await queryRows<Row>(
          tx,
          sql`update hub.numbering_queue set next_attempt_at = now() + make_interval(secs => ${lease})
               where batch_id = ${batchId} returning subject_id, tenant_code, attempts`,
        );
      }
      const first = rows[0];
      if (!first) return undefined;
      return {
        batchId,
        tenantCode: first.tenant_code,
        attempts: Math.max(...rows.map((r) => r.attempts)),
        subjectIds: rows.map((r) => r.subject_id),
      };
    });
  }

  async #record(batch: Claimed, ids: string[], answer: NumberingAnswerItem[]): Promise<void> {
    const now = this.deps.clock();
    await this.deps.db.transaction(async (tx) => {
      await lockAuditChain(tx, batch.tenantCode);
      const current = await tx
        .select({
          id: subjects.id,
          pmhId: subjects.pmhId,
          viewingSuspended: subjects.viewingSuspended,
          byCheck: subjects.suspendedByCrossCheck,
        })
        .from(subjects)
        .where(and(eq(subjects.tenantCode, batch.tenantCode), inList(subjects.id, ids, 'uuid')));
      const byId = new Map(current.map((c) => [c.id, c]));
      const changes: Record<string, unknown>[] = [];
      const audit: AuditEntryInput[] = [];
      ids.forEach((id, i) => {
        const item = answer[i];
        const now_ = byId.get(id);
        if (!item || !now_) return;
        const status = STATUS_BY_OUTCOME[item.outcome];
        let viewingSuspended = now_.viewingSuspended;
        let byCheck = now_.byCheck;
        if (status === 'cross-check-failed' && !viewingSuspended) {
          viewingSuspended = true;
          byCheck = true;
        } else if (status === 'numbered' && byCheck) {
          viewingSuspended = false;
          byCheck = false;
        }
        changes.push({
          id,
          pmh_id: item.pmhId ?? now_.pmhId,
          numbering_status: status,
          numbering_reasons: item.reasons?.length ? JSON.stringify(item.reasons) : null,
          numbered_at: status === 'numbered' ? now : null,
          viewing_suspended: viewingSuspended,
          suspended_by_cross_check: byCheck,
        });
        audit.push({
          actor: { kind: 'system', id: 'numbering' },
          action:
            status === 'numbered' ? AUDIT_ACTIONS.subjectNumbered : AUDIT_ACTIONS.subjectCrossCheckFailed,
          subjectRef: id,
          requestId: batch.batchId,
          detail: { outcome: item.outcome, ...(item.reasons?.length ? { reasons: item.reasons } : {}) },
        });
      });
      await bulkUpdate(
        tx,
        'hub.subjects',
        'id',
        {
          id: 'uuid',
          pmh_id: 'text',
          numbering_status: 'text',
          numbering_reasons: 'text',
          numbered_at: 'timestamptz',
          viewing_suspended: 'boolean',
          suspended_by_cross_check: 'boolean',
        },
        changes,
        sql`t.tenant_code = ${batch.tenantCode}`,
      );
      await tx.delete(numberingQueue).where(eq(numberingQueue.batchId, batch.batchId));
      await refreshReadModel(tx, this.deps.keyRing, batch.tenantCode, ids);
      await appendAudit(tx, batch.tenantCode, audit, now);
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
