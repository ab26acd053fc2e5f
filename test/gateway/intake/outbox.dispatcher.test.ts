import { sql } from 'drizzle-orm';
import { MockAgent } from 'undici';
import { describe, expect, it } from 'vitest';
import { queryRows } from '../../../src/db/client.js';
import { CircuitBreaker } from '../../../src/gateway/http/circuit-breaker.js';
import { RemotePmhClient } from '../../../src/gateway/remote-pmh/index.js';
import { record } from '../../fixtures/records.js';
import { createHarness } from '../../support/harness.js';

// PMH is remote here: undici's MockAgent answers for it, the real client and outbox do the rest.
const ORIGIN = 'http://pmh.test';
/** Tenants the gateway holds no PMH token for. */
const noToken = new Set<string>();
const agent = new MockAgent();
agent.disableNetConnect();
const pmhPool = agent.get(ORIGIN);
const breaker = new CircuitBreaker({ failureThreshold: 1000 });
const h = await createHarness({
  remotePmh: {
    client: new RemotePmhClient({ baseUrl: `${ORIGIN}/pmh/v1`, dispatcher: agent, timeoutMs: 150, breaker }),
    token: (tenant) => (noToken.has(tenant) ? undefined : 'gateway-token-at-pmh'),
    requireToken: true,
    maxAttempts: 3,
    // Retries wait a minute: a test makes its batch due when it wants the next attempt.
    backoff: { baseMs: 60_000, maxMs: 60_000 },
    random: () => 0.99,
    ratePerSecond: 10_000,
    statusCacheMs: 0,
  },
});
const dispatcher = h.system.dispatcher;
if (!dispatcher) throw new Error('remote mode has a dispatcher');

const JSON_HEADERS = { 'content-type': 'application/json' };

type Reply = { status: number; body?: unknown; headers?: Record<string, string>; delayMs?: number };
const keys: string[] = [];

/** Answers the next registration-tasks call; records its idempotency key. */
function pmhAnswers(reply: Reply | ((count: number) => Reply)): void {
  const interceptor = pmhPool.intercept({ path: '/pmh/v1/registration-tasks', method: 'POST' });
  let r: Reply | undefined;
  const scope = interceptor.reply((opts) => {
    const headers = opts.headers as Record<string, string>;
    keys.push(String(headers['idempotency-key']));
    const count = (JSON.parse(String(opts.body)) as unknown[]).length;
    r = typeof reply === 'function' ? reply(count) : reply;
    return {
      statusCode: r.status,
      data: r.body === undefined ? '' : JSON.stringify(r.body),
      responseOptions: {
        headers: {
          ...(r.status < 300 ? JSON_HEADERS : { 'content-type': 'application/problem+json' }),
          ...r.headers,
        },
      },
    };
  });
  if (typeof reply !== 'function' && reply.delayMs) scope.delay(reply.delayMs);
}

const created = (count: number): Reply => ({
  status: 200,
  body: {
    results: Array.from({ length: count }, (_, index) => ({
      index,
      subjectId: crypto.randomUUID(),
      outcome: 'created',
    })),
  },
});

/** Registers `n` records for the client; returns the submission id of the 202. */
async function submit(token: string, n: number): Promise<string> {
  const res = await h.request('/api/v1/subjects', {
    method: 'POST',
    token,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(Array.from({ length: n }, () => record())),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { submissionId: string }).submissionId;
}

async function register(n: number) {
  const t = await h.tenant();
  const submissionId = await submit(t.token, n);
  const view = async () =>
    (await (await h.request(`/api/v1/submissions/${submissionId}`, { token: t.token })).json()) as {
      counts: Record<string, number>;
      records: {
        index: number;
        state: string;
        attempts: number;
        outcome: string | null;
        errors?: { code: string }[];
      }[];
    };
  return { t, submissionId, view };
}

async function makeDue(): Promise<void> {
  await h.database.db.execute(sql`update outbox.batches set next_attempt_at = now() where state = 'open'`);
}

async function auditActions(tenant: string): Promise<string[]> {
  const rows = await queryRows<{ action: string }>(
    h.database.db,
    sql`select action from audit.entries where tenant_code = ${tenant} order by seq`,
  );
  return rows.map((r) => r.action);
}

describe('the outbox dispatcher, for each answer class of PMH', () => {
  it("2xx with a per-record error: the record is rejected with PMH's reason, the others accepted", async () => {
    const { t, view } = await register(2);
    pmhAnswers({
      status: 200,
      body: {
        results: [
          { index: 0, subjectId: crypto.randomUUID(), outcome: 'created' },
          {
            index: 1,
            subjectId: null,
            outcome: 'rejected',
            errors: [{ pointer: '/myNumber', code: 'not-found-at-pmh' }],
          },
        ],
      },
    });
    expect(await dispatcher.processNext()).toBe(true);
    const v = await view();
    expect(v.records.map((r) => r.state)).toEqual(['accepted', 'rejected']);
    expect(v.records[1]?.errors).toEqual([{ pointer: '/myNumber', code: 'not-found-at-pmh' }]);
    expect(await auditActions(t.municipalityCode)).toEqual(
      expect.arrayContaining([
        'outbox.registration-queued',
        'outbox.batch-answered',
        'outbox.record-rejected',
      ]),
    );
  });

  it('422 naming one record: that record is rejected, the rest go again in a new batch with a new key', async () => {
    const { view } = await register(3);
    pmhAnswers({
      status: 422,
      body: {
        code: 'validation-failed',
        errors: [{ index: 1, pointer: '/basicFiveInfo/nameKana', code: 'invalid-kana' }],
      },
    });
    await dispatcher.processNext();
    expect((await view()).records.map((r) => r.state)).toEqual(['queued', 'rejected', 'queued']);
    pmhAnswers(created);
    await dispatcher.processNext();
    const v = await view();
    expect(v.records.map((r) => r.state)).toEqual(['accepted', 'rejected', 'accepted']);
    expect(keys.at(-1)).not.toBe(keys.at(-2));
  });

  it("another 4xx: every record of the batch is rejected with PMH's code", async () => {
    const { view } = await register(2);
    pmhAnswers({ status: 400, body: { code: 'malformed-request' } });
    await dispatcher.processNext();
    const v = await view();
    expect(v.counts.rejected).toBe(2);
    expect(v.records[0]?.errors?.[0]?.code).toBe('malformed-request');
  });

  it('429 with Retry-After: waits as told, then resends the same batch under the same key', async () => {
    const { view } = await register(2);
    pmhAnswers({ status: 429, body: { code: 'too-many' }, headers: { 'retry-after': '30' } });
    await dispatcher.processNext();
    expect((await view()).records.map((r) => r.state)).toEqual(['sent', 'sent']);
    const [due] = await queryRows<{ secs: number }>(
      h.database.db,
      sql`select extract(epoch from next_attempt_at - now())::float as secs from outbox.batches where state = 'open'`,
    );
    expect(due?.secs, 'the next attempt honours Retry-After').toBeGreaterThan(25);
    expect(await dispatcher.processNext(), 'nothing is due before then').toBe(false);
    await makeDue();
    pmhAnswers(created);
    await dispatcher.processNext();
    const v = await view();
    expect(v.counts.accepted).toBe(2);
    expect(v.records[0]?.attempts).toBe(2);
    expect(keys.at(-1)).toBe(keys.at(-2));
  });

  it('5xx until the attempts run out: given up, kept sealed for a resend, and alerted', async () => {
    const { t, view } = await register(1);
    for (let i = 0; i < 3; i++) {
      pmhAnswers({ status: 503, body: { code: 'down' } });
      await makeDue();
      await dispatcher.processNext();
    }
    const v = await view();
    expect(v.records[0]).toMatchObject({
      state: 'given-up',
      attempts: 3,
      errors: [{ pointer: '', code: 'pmh-unavailable' }],
    });
    const [kept] = await queryRows<{ n: number }>(
      h.database.db,
      sql`select count(*)::int as n from outbox.messages where state = 'given-up' and sealed is not null and tenant_code = ${t.municipalityCode}`,
    );
    expect(kept?.n).toBe(1);
    expect(await auditActions(t.municipalityCode)).toContain('outbox.record-given-up');
    const status = (await (await h.request('/status')).json()) as {
      status: string;
      outbox: { alerts: string[] };
    };
    expect(status.status).toBe('alert');
    expect(status.outbox.alerts.join(' ')).toMatch(/given up/);

    const givenUpKey = keys.at(-1);

    // Nothing newer of this tenant and business overtakes the given-up record.
    const laterId = await submit(t.token, 1);
    const laterState = async () =>
      (
        (await (await h.request(`/api/v1/submissions/${laterId}`, { token: t.token })).json()) as {
          records: { state: string }[];
        }
      ).records[0]?.state;
    for (let i = 0; i < 5 && (await dispatcher.processNext()); i++) {}
    expect(await laterState(), 'held while an older record is given up').toBe('queued');

    // An operator requeues it once PMH is back: the same batch goes again under the same key,
    // then the newer record; the requeue is audited.
    const { requeueGivenUp } = await import('../../../src/gateway/intake/outbox.service.js');
    expect(
      await requeueGivenUp(h.database.db, { tenantCode: t.municipalityCode, operator: 'ops-1' }, new Date()),
    ).toEqual({ [t.municipalityCode]: 1 });
    expect((await view()).records[0]).toMatchObject({ state: 'queued', attempts: 0 });
    pmhAnswers(created);
    for (let i = 0; i < 10 && (await view()).records[0]?.state !== 'accepted'; i++)
      await dispatcher.processNext();
    expect((await view()).records[0]?.state).toBe('accepted');
    expect(keys.at(-1), 'resent under its first idempotency key').toBe(givenUpKey);
    expect(await laterState()).toBe('queued');
    pmhAnswers(created);
    for (let i = 0; i < 10 && (await laterState()) !== 'accepted'; i++) await dispatcher.processNext();
    expect(await laterState()).toBe('accepted');
    expect(await auditActions(t.municipalityCode)).toContain('outbox.records-requeued');
  });

  it('409 (the same key still in flight at PMH) is retried, never taken as a rejection', async () => {
    const { view } = await register(1);
    pmhAnswers({ status: 409, body: { code: 'conflict' } });
    await dispatcher.processNext();
    expect((await view()).records[0]?.state).toBe('sent');
    await makeDue();
    pmhAnswers(created);
    await dispatcher.processNext();
    expect((await view()).records[0]?.state).toBe('accepted');
  });

  it('holds back a tenant and business that has no PMH credentials, without calling PMH', async () => {
    const { t, view } = await register(1);
    noToken.add(t.municipalityCode);
    const calls = keys.length;
    const before = dispatcher.failures.unauthorized;
    await dispatcher.processNext();
    expect(keys.length, 'PMH was not called').toBe(calls);
    expect((await view()).records[0]?.state).toBe('queued');
    expect(dispatcher.failures.unauthorized).toBe(before + 1);
    noToken.delete(t.municipalityCode);
    await makeDue();
    pmhAnswers(created);
    await dispatcher.processNext();
    expect((await view()).records[0]?.state).toBe('accepted');
  });

  it('a timeout is retried under the same key and counted as such', async () => {
    const { view } = await register(1);
    const before = dispatcher.failures.timeout;
    pmhAnswers({ ...created(1), delayMs: 1000 });
    await dispatcher.processNext();
    expect((await view()).records[0]?.state).toBe('sent');
    expect(dispatcher.failures.timeout).toBe(before + 1);
    await makeDue();
    pmhAnswers(created);
    await dispatcher.processNext();
    expect((await view()).records[0]?.state).toBe('accepted');
    expect(keys.at(-1)).toBe(keys.at(-2));
  });

  it('a malformed answer is never stored as truth: refused, resent under the same key', async () => {
    const { view } = await register(1);
    pmhAnswers({
      status: 200,
      body: {
        results: [{ index: 0, subjectId: crypto.randomUUID(), outcome: 'created', myNumber: '123456789012' }],
      },
    });
    await dispatcher.processNext();
    const after = (await view()).records[0];
    expect(after?.state).toBe('sent');
    expect(after?.outcome).toBeNull();
    await makeDue();
    pmhAnswers(created);
    await dispatcher.processNext();
    expect((await view()).records[0]?.state).toBe('accepted');
    expect(keys.at(-1)).toBe(keys.at(-2));
  });

  it("401 keeps the records (a credentials problem is not the record's fault)", async () => {
    const { view } = await register(1);
    pmhAnswers({ status: 401, body: { code: 'unauthorized' } });
    await dispatcher.processNext();
    expect((await view()).records[0]?.state).toBe('sent');
    await makeDue();
    pmhAnswers(created);
    await dispatcher.processNext();
    expect((await view()).records[0]?.state).toBe('accepted');
  });

  it("keeps one tenant's records in order: a later batch waits while an earlier one is retried", async () => {
    const t = await h.tenant();
    const send = () => submit(t.token, 1);
    const first = await send();
    pmhAnswers({ status: 503, body: { code: 'down' } });
    await dispatcher.processNext();
    const second = await send();
    expect(await dispatcher.processNext(), 'the second waits for the first').toBe(false);
    await makeDue();
    pmhAnswers(created);
    await dispatcher.processNext();
    const state = async (id: string) =>
      (
        (await (await h.request(`/api/v1/submissions/${id}`, { token: t.token })).json()) as {
          records: { state: string }[];
        }
      ).records[0]?.state;
    expect(await state(first)).toBe('accepted');
    expect(await state(second)).toBe('queued');
    pmhAnswers(created);
    await dispatcher.processNext();
    expect(await state(second)).toBe('accepted');
  });
});

describe('reconciliation', () => {
  it('lists, as CSV, what was not delivered, what PMH refused, and what PMH no longer holds', async () => {
    const { reconcile } = await import('../../../src/gateway/intake/outbox.reconcile.js');
    const t = await h.tenant();
    const send = (n: number) => submit(t.token, n);
    await send(3);
    const missing = crypto.randomUUID();
    pmhAnswers({
      status: 200,
      body: {
        results: [
          { index: 0, subjectId: crypto.randomUUID(), outcome: 'created' },
          { index: 1, subjectId: missing, outcome: 'created' },
          { index: 2, subjectId: null, outcome: 'rejected', errors: [{ pointer: '', code: 'refused' }] },
        ],
      },
    });
    // Other tests' batches may be due first: step until this tenant's batch is answered.
    for (let i = 0; i < 10 && (await dispatcher.processNext()); i++) {}
    const waiting = await send(1);
    const lines: string[] = [];
    for await (const line of reconcile(h.database.db, {
      tenantCode: t.municipalityCode,
      probe: async (_tenant, _business, subjectId) => (subjectId === missing ? 'absent' : 'present'),
    }))
      lines.push(line.trimEnd());
    expect(lines[0]).toBe(
      'source,source_id,index,municipality_code,business_id,received_at,delivery,outcome,subject_id,at_pmh,difference',
    );
    const differences = lines.slice(1).map((l) => l.split(',').at(-1));
    expect(differences.sort()).toEqual(['missing-at-pmh', 'not-delivered', 'rejected-by-pmh']);
    expect(lines.find((l) => l.endsWith('not-delivered'))).toContain(waiting);
    const all: string[] = [];
    for await (const line of reconcile(h.database.db, { tenantCode: t.municipalityCode, all: true }))
      all.push(line);
    expect(all).toHaveLength(1 + 4);
  });
});
