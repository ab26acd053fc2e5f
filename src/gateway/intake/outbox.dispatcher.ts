import { randomUUID } from 'node:crypto';
import { asc, eq, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { type Actor, AUDIT_ACTIONS, type AuditEntryInput, appendAudit } from '../../audit/index.js';
import { type Db, queryRows } from '../../db/client.js';
import { PollingLoop } from '../../db/polling-loop.js';
import type { RegistrationRecord } from '../../pmh/index.js';
import { type Backoff, fullJitterDelay } from '../http/retry.js';
import type { TokenBucket } from '../http/token-bucket.js';
import type { DeliveryAnswer } from '../remote-pmh/index.js';
import type { Outbox } from './outbox.service.js';
import { type DeliveryState, outboxMessages } from './outbox.tables.js';

/** What the dispatcher needs of a remote PMH (implemented by `RemotePmhClient`). */
export interface PmhDeliveryPort {
  postRegistrationTasks(input: {
    token?: string | undefined;
    idempotencyKey: string;
    requestId?: string;
    records: readonly RegistrationRecord[];
  }): Promise<DeliveryAnswer>;
}

/** Dependencies of {@link OutboxDispatcher}. */
export interface OutboxDispatcherDeps {
  db: Db;
  outbox: Outbox;
  port: PmhDeliveryPort;
  /** The bearer token for a tenant and business (undefined: none, e.g. mutual TLS only). */
  token: (tenantCode: string, businessId: string) => string | undefined;
  /** Hold back (never send) a tenant and business without a token. */
  requireToken?: boolean;
  clock: () => Date;
  logger: Logger;
  rate: TokenBucket;
  batchSize?: number;
  maxAttempts?: number;
  backoff?: Backoff;
  leaseMs?: number;
  concurrency?: number;
  idleMs?: number;
  instanceId?: string;
  random?: () => number;
}

/** Classes of failed attempts, as counted for operators. */
export const FAILURE_CLASSES = [
  'unavailable',
  'rate-limited',
  'timeout',
  'malformed',
  'unauthorized',
  'circuit-open',
  'local-error',
] as const;
/** One of {@link FAILURE_CLASSES}. */
export type FailureClass = (typeof FAILURE_CLASSES)[number];

interface ClaimedBatch {
  id: string;
  /** This claim's lease token: another claim of the batch (after the lease ran out) changes it. */
  lease: string;
  tenant_code: string;
  business_id: string;
  attempts: number;
}

type MessageRow = Pick<
  typeof outboxMessages.$inferSelect,
  'id' | 'tenantCode' | 'sourceKind' | 'sourceId' | 'sourceIndex' | 'sealed'
>;

interface Settlement {
  id: number;
  state: DeliveryState;
  outcome: string | null;
  subjectId: string | null;
  errors: { pointer: string; code: string }[] | null;
}

const ACTOR: Actor = { kind: 'system', id: 'outbox' };

/**
 * Delivers the outbox to the remote PMH: batches per tenant and business (one open batch
 * each, so records arrive in the order the case system sent them), the batch id as the
 * idempotency key of every attempt, a rate limit, retries with backoff and full jitter kept
 * in the database (a restart resumes them), and per-record states from PMH's answer.
 *
 * @example
 * const dispatcher = new OutboxDispatcher({ db, outbox, port: remoteClient, token, clock, logger, rate });
 * dispatcher.start();
 */
export class OutboxDispatcher {
  readonly #loop: PollingLoop;
  readonly #instanceId: string;
  readonly #failures = new Map<FailureClass, number>();

  constructor(private readonly deps: OutboxDispatcherDeps) {
    this.#instanceId = deps.instanceId ?? `outbox-${randomUUID()}`;
    this.#loop = new PollingLoop({
      step: () => this.processNext(),
      onError: (err) =>
        deps.logger.error(
          { err: { name: (err as Error).name, code: (err as { code?: string }).code } },
          'outbox dispatcher error',
        ),
      concurrency: deps.concurrency ?? 2,
      idleMs: deps.idleMs ?? 250,
    });
  }

  /** Failed attempts by class since this process started. */
  get failures(): Record<FailureClass, number> {
    return Object.fromEntries(FAILURE_CLASSES.map((c) => [c, this.#failures.get(c) ?? 0])) as Record<
      FailureClass,
      number
    >;
  }

  start(): void {
    this.#loop.start();
  }

  /** Stops after the batches in hand; what is left resumes on the next start. */
  stop(): Promise<void> {
    return this.#loop.stop();
  }

  /** Wakes the dispatcher (new records were queued). */
  nudge(): void {
    this.#loop.nudge();
  }

  get #leaseSecs(): number {
    return (this.deps.leaseMs ?? 120_000) / 1000;
  }

  /** Sends one due batch (an open one whose retry time has come, or a new one). */
  async processNext(): Promise<boolean> {
    const batch = (await this.#claimDue()) ?? (await this.#form());
    if (!batch) return false;
    await this.#send(batch);
    return true;
  }

  #leaseToken(): string {
    return `${this.#instanceId}:${randomUUID()}`;
  }

  async #claimDue(): Promise<ClaimedBatch | undefined> {
    const lease = this.#leaseToken();
    const [row] = await queryRows<Omit<ClaimedBatch, 'lease'>>(
      this.deps.db,
      sql`
      update outbox.batches b
         set lease_owner = ${lease},
             lease_until = now() + make_interval(secs => ${this.#leaseSecs})
       where b.id = (
         select c.id from outbox.batches c
          where c.state = 'open' and c.next_attempt_at <= now()
            and (c.lease_until is null or c.lease_until < now())
          order by c.next_attempt_at
          limit 1
          for update skip locked)
      returning b.id, b.tenant_code, b.business_id, b.attempts`,
    );
    return row ? { ...row, lease } : undefined;
  }

  async #form(): Promise<ClaimedBatch | undefined> {
    const lease = this.#leaseToken();
    return this.deps.db.transaction(async (tx) => {
      // A group with an open batch waits for it; a group with given-up records waits for an
      // operator to requeue them, so nothing later overtakes them.
      const [group] = await queryRows<{ tenant_code: string; business_id: string }>(
        tx,
        sql`
        select m.tenant_code, m.business_id from outbox.messages m
         where m.state = 'queued' and m.batch_id is null
           and not exists (select 1 from outbox.batches b
                            where b.state = 'open' and b.tenant_code = m.tenant_code
                              and b.business_id = m.business_id)
           and not exists (select 1 from outbox.messages g
                            where g.state = 'given-up' and g.tenant_code = m.tenant_code
                              and g.business_id = m.business_id)
         order by m.id
         limit 1`,
      );
      if (!group) return undefined;
      const id = randomUUID();
      const inserted = await queryRows<{ id: string }>(
        tx,
        sql`
        insert into outbox.batches
          (id, tenant_code, business_id, state, record_count, attempts, next_attempt_at,
           lease_owner, lease_until, created_at)
        values (${id}, ${group.tenant_code}, ${group.business_id}, 'open', 0, 0, now(),
                ${lease}, now() + make_interval(secs => ${this.#leaseSecs}), now())
        on conflict do nothing
        returning id`,
      );
      if (inserted.length === 0) return undefined;
      const picked = await queryRows<{ id: number }>(
        tx,
        sql`
        with picked as (
          select id from outbox.messages
           where state = 'queued' and batch_id is null
             and tenant_code = ${group.tenant_code} and business_id = ${group.business_id}
           order by id
           limit ${this.deps.batchSize ?? 500}
           for update skip locked),
        numbered as (select id, (row_number() over (order by id) - 1)::int as pos from picked)
        update outbox.messages m
           set batch_id = ${id}, batch_pos = numbered.pos
          from numbered
         where m.id = numbered.id
        returning m.id`,
      );
      await tx.execute(sql`update outbox.batches set record_count = ${picked.length} where id = ${id}`);
      return { id, lease, tenant_code: group.tenant_code, business_id: group.business_id, attempts: 0 };
    });
  }

  async #send(batch: ClaimedBatch): Promise<void> {
    const messages: MessageRow[] = await this.deps.db
      .select({
        id: outboxMessages.id,
        tenantCode: outboxMessages.tenantCode,
        sourceKind: outboxMessages.sourceKind,
        sourceId: outboxMessages.sourceId,
        sourceIndex: outboxMessages.sourceIndex,
        sealed: outboxMessages.sealed,
      })
      .from(outboxMessages)
      .where(eq(outboxMessages.batchId, batch.id))
      .orderBy(asc(outboxMessages.batchPos));
    if (messages.length === 0) {
      await this.deps.db.execute(
        sql`update outbox.batches set state = 'done', completed_at = now() where id = ${batch.id}`,
      );
      return;
    }
    const token = this.deps.token(batch.tenant_code, batch.business_id);
    if (this.deps.requireToken && token === undefined) {
      this.#count('unauthorized');
      return this.#later(batch, 60_000, 'no PMH credentials for this tenant and business', false);
    }
    let records: RegistrationRecord[];
    try {
      records = await Promise.all(messages.map((m) => this.deps.outbox.openRecord(m)));
    } catch (err) {
      return this.#retry(
        batch,
        messages,
        'local-error',
        `records could not be opened (${(err as Error).name})`,
        undefined,
        'gateway-error',
      );
    }
    await this.deps.rate.take();
    // The lease runs from now: the wait for a rate token does not eat into it.
    await this.deps.db.execute(
      sql`update outbox.batches set lease_until = now() + make_interval(secs => ${this.#leaseSecs})
           where id = ${batch.id} and lease_owner = ${batch.lease}`,
    );
    let answer: DeliveryAnswer;
    try {
      answer = await this.deps.port.postRegistrationTasks({
        token,
        idempotencyKey: batch.id,
        requestId: `outbox-${batch.id}-${batch.attempts + 1}`,
        records,
      });
    } catch (err) {
      answer = { kind: 'malformed', reason: `client error (${(err as Error).name})` };
    }
    if (!(answer.kind === 'retry' && answer.reason === 'circuit open'))
      await this.deps.db.execute(
        sql`update outbox.messages set state = 'sent', updated_at = now()
             where batch_id = ${batch.id} and state = 'queued'`,
      );
    await this.#settle(batch, messages, answer);
  }

  async #settle(batch: ClaimedBatch, messages: MessageRow[], answer: DeliveryAnswer): Promise<void> {
    switch (answer.kind) {
      case 'results': {
        const settled = messages.map((m, i): Settlement => {
          const r = answer.results[i];
          if (!r) throw new Error('answer shorter than the batch');
          return {
            id: m.id,
            state: r.outcome === 'rejected' ? 'rejected' : 'accepted',
            outcome: r.outcome,
            subjectId: r.subjectId,
            errors: r.errors?.length ? r.errors : null,
          };
        });
        return this.#finish(batch, messages, settled, [], 'answered');
      }
      case 'invalid-records': {
        const bad = new Map<number, { pointer: string; code: string }[]>();
        for (const e of answer.errors) {
          const list = bad.get(e.index) ?? [];
          list.push({ pointer: e.pointer, code: e.code });
          bad.set(e.index, list);
        }
        if (![...bad.keys()].some((i) => i >= 0 && i < messages.length))
          return this.#finish(
            batch,
            messages,
            this.#all(messages, 'rejected', 'pmh-http-422'),
            [],
            'refused',
          );
        const settled: Settlement[] = [];
        const requeue: number[] = [];
        messages.forEach((m, i) => {
          const errors = bad.get(i);
          if (errors)
            settled.push({ id: m.id, state: 'rejected', outcome: 'rejected', subjectId: null, errors });
          else requeue.push(m.id);
        });
        return this.#finish(batch, messages, settled, requeue, 'split');
      }
      case 'refused':
        if (answer.status === 401 || answer.status === 403)
          return this.#retry(
            batch,
            messages,
            'unauthorized',
            `HTTP ${answer.status}`,
            undefined,
            'pmh-unauthorized',
          );
        // A conflict is what an idempotency store answers while the same key is still in flight.
        if (answer.status === 409)
          return this.#retry(batch, messages, 'unavailable', 'HTTP 409', undefined, 'pmh-unavailable');
        return this.#finish(
          batch,
          messages,
          this.#all(messages, 'rejected', answer.code ?? `pmh-http-${answer.status}`),
          [],
          'refused',
        );
      case 'retry': {
        if (answer.reason === 'circuit open') {
          this.#count('circuit-open');
          return this.#later(batch, Math.max(answer.retryAfterMs || 1000, 100), answer.reason, false);
        }
        const cls: FailureClass = /^HTTP 429\b/.test(answer.reason)
          ? 'rate-limited'
          : /timeout/.test(answer.reason)
            ? 'timeout'
            : 'unavailable';
        return this.#retry(batch, messages, cls, answer.reason, answer.retryAfterMs, 'pmh-unavailable');
      }
      case 'malformed':
        return this.#retry(batch, messages, 'malformed', answer.reason, undefined, 'pmh-malformed-answer');
    }
  }

  #all(messages: MessageRow[], state: DeliveryState, code: string): Settlement[] {
    return messages.map((m) => ({
      id: m.id,
      state,
      outcome: state === 'rejected' ? 'rejected' : null,
      subjectId: null,
      errors: [{ pointer: '', code }],
    }));
  }

  #count(cls: FailureClass): void {
    this.#failures.set(cls, (this.#failures.get(cls) ?? 0) + 1);
  }

  async #retry(
    batch: ClaimedBatch,
    messages: MessageRow[],
    cls: FailureClass,
    reason: string,
    retryAfterMs: number | undefined,
    givenUpCode: string,
  ): Promise<void> {
    this.#count(cls);
    const attempts = batch.attempts + 1;
    const maxAttempts = this.deps.maxAttempts ?? 12;
    this.deps.logger.warn(
      { batchId: batch.id, attempts, failure: cls, reason },
      'PMH delivery attempt failed',
    );
    if (attempts >= maxAttempts) {
      return this.#finish(
        { ...batch, attempts },
        messages,
        this.#all(messages, 'given-up', givenUpCode),
        [],
        'given-up',
        reason,
      );
    }
    const backoff = this.deps.backoff ?? { baseMs: 1000, maxMs: 300_000 };
    // PMH's Retry-After is honoured as told (up to an hour); otherwise full jitter within the backoff.
    const delay =
      retryAfterMs !== undefined
        ? Math.min(retryAfterMs, 3_600_000)
        : fullJitterDelay(attempts - 1, backoff, this.deps.random ?? Math.random);
    return this.#later({ ...batch, attempts }, delay, reason, true);
  }

  async #later(batch: ClaimedBatch, delayMs: number, reason: string, counted: boolean): Promise<void> {
    await this.deps.db.transaction(async (tx) => {
      const owned = await queryRows<{ id: string }>(
        tx,
        sql`update outbox.batches
               set attempts = ${batch.attempts},
                   next_attempt_at = now() + make_interval(secs => ${delayMs / 1000}),
                   lease_owner = null, lease_until = null, last_error = ${reason}
             where id = ${batch.id} and lease_owner = ${batch.lease}
         returning id`,
      );
      if (owned.length && counted)
        await tx.execute(
          sql`update outbox.messages set attempts = ${batch.attempts}, updated_at = now() where batch_id = ${batch.id}`,
        );
    });
  }

  /** Records PMH's answer: message states, linkage-file rows and counts, audit — in one transaction. */
  async #finish(
    batch: ClaimedBatch,
    messages: MessageRow[],
    settled: Settlement[],
    requeue: number[],
    how: 'answered' | 'split' | 'refused' | 'given-up',
    reason?: string,
  ): Promise<void> {
    const byId = new Map(messages.map((m) => [m.id, m]));
    const attempts = how === 'given-up' ? batch.attempts : batch.attempts + 1;
    await this.deps.db.transaction(async (tx) => {
      const owned = await queryRows<{ id: string }>(
        tx,
        sql`select id from outbox.batches where id = ${batch.id} and state = 'open'
              and lease_owner = ${batch.lease} for update`,
      );
      if (owned.length === 0) throw new Error('lost the lease on this outbox batch');
      const json = JSON.stringify(
        settled.map((s) => ({
          id: s.id,
          state: s.state,
          outcome: s.outcome,
          subject_id: s.subjectId,
          errors: s.errors ? JSON.stringify(s.errors) : null,
          keep: s.state === 'given-up',
        })),
      );
      await tx.execute(sql`
        update outbox.messages m
           set state = x.state, outcome = x.outcome, subject_id = x.subject_id, errors = x.errors,
               attempts = ${attempts}, updated_at = now(),
               sealed = case when x.keep then m.sealed else null end
          from jsonb_to_recordset(${json}::jsonb)
            as x(id bigint, state text, outcome text, subject_id uuid, errors text, keep boolean)
         where m.id = x.id`);
      if (requeue.length)
        await tx.execute(sql`
          update outbox.messages set state = 'queued', batch_id = null, batch_pos = null, updated_at = now()
           where id in (select jsonb_array_elements_text(${JSON.stringify(requeue)}::jsonb)::bigint)`);
      const rows = settled.flatMap((s) => {
        const m = byId.get(s.id);
        if (m?.sourceKind !== 'linkage-file') return [];
        return [
          {
            file_id: m.sourceId,
            row_no: m.sourceIndex,
            outcome: s.state === 'given-up' ? 'given-up' : (s.outcome ?? 'rejected'),
            subject_id: s.subjectId,
            errors: s.errors ? JSON.stringify(s.errors) : null,
          },
        ];
      });
      if (rows.length) {
        const rowsJson = JSON.stringify(rows);
        await tx.execute(sql`
          update intake.linkage_file_rows r
             set outcome = x.outcome, subject_id = x.subject_id, errors = x.errors
            from jsonb_to_recordset(${rowsJson}::jsonb)
              as x(file_id uuid, row_no int, outcome text, subject_id uuid, errors text)
           where r.file_id = x.file_id and r.row_no = x.row_no`);
        await tx.execute(sql`
          update intake.linkage_files f
             set queued = f.queued - c.total,
                 created = f.created + c.created, updated = f.updated + c.updated,
                 unchanged = f.unchanged + c.unchanged, deleted = f.deleted + c.deleted,
                 not_found = f.not_found + c.not_found, rejected = f.rejected + c.rejected,
                 given_up = f.given_up + c.given_up
            from (select x.file_id, count(*)::int as total,
                         count(*) filter (where x.outcome = 'created')::int as created,
                         count(*) filter (where x.outcome = 'updated')::int as updated,
                         count(*) filter (where x.outcome = 'unchanged')::int as unchanged,
                         count(*) filter (where x.outcome = 'deleted')::int as deleted,
                         count(*) filter (where x.outcome = 'not-found')::int as not_found,
                         count(*) filter (where x.outcome = 'rejected')::int as rejected,
                         count(*) filter (where x.outcome = 'given-up')::int as given_up
                    from jsonb_to_recordset(${rowsJson}::jsonb) as x(file_id uuid, outcome text)
                   group by x.file_id) c
           where f.id = c.file_id`);
      }
      await tx.execute(sql`
        update outbox.batches
           set state = 'done', attempts = ${attempts}, completed_at = now(),
               lease_owner = null, lease_until = null, last_error = ${reason ?? null}
         where id = ${batch.id}`);
      const audit: AuditEntryInput[] = [
        {
          actor: ACTOR,
          action: AUDIT_ACTIONS.deliveryBatchAnswered,
          detail: {
            batchId: batch.id,
            how,
            attempts,
            accepted: settled.filter((s) => s.state === 'accepted').length,
            rejected: settled.filter((s) => s.state === 'rejected').length,
            givenUp: settled.filter((s) => s.state === 'given-up').length,
            requeued: requeue.length,
          },
        },
        ...settled.flatMap((s): AuditEntryInput[] => {
          if (s.state !== 'rejected' && s.state !== 'given-up') return [];
          const m = byId.get(s.id);
          return [
            {
              actor: ACTOR,
              action: s.state === 'rejected' ? AUDIT_ACTIONS.deliveryRejected : AUDIT_ACTIONS.deliveryGivenUp,
              detail: {
                ref: m ? `${m.sourceKind}:${m.sourceId}:${m.sourceIndex}` : null,
                codes: (s.errors ?? []).map((e) => e.code),
              },
            },
          ];
        }),
      ];
      await appendAudit(tx, batch.tenant_code, audit, this.deps.clock());
    });
    if (requeue.length) this.#loop.nudge();
  }
}
