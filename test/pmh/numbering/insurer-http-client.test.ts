import fc from 'fast-check';
import { MockAgent } from 'undici';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../../src/gateway/http/circuit-breaker.js';
import {
  type NumberingAnswerItem,
  NumberingProtocolError,
  type NumberingRequestItem,
  NumberingUnavailableError,
} from '../../../src/intermediate/insurer/index.js';
import {
  createInsurerDispatcher,
  InsurerHttpClient,
  type InsurerHttpClientOptions,
  PMH_ID_REQUESTS_PATH,
} from '../../../src/pmh/numbering/insurer-http-client.js';

const ORIGIN = 'http://insurer.test:4100';
const JSON_HEADERS = { 'content-type': 'application/json' };
const PROBLEM_HEADERS = { 'content-type': 'application/problem+json' };
const TWELVE_DIGITS = /\d{12}/;

/** Every error any test saw thrown by the client; checked for 個人番号 at the end. */
const thrown: Error[] = [];
const agents: MockAgent[] = [];

afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close()));
});

afterAll(() => {
  expect(thrown.length, 'the suite should have seen errors').toBeGreaterThan(10);
  for (const err of thrown)
    expect(err.message, `${err.name} leaks a 12-digit run`).not.toMatch(TWELVE_DIGITS);
});

function person(i: number): NumberingRequestItem {
  return {
    myNumber: String(123456780000 + i * 7919),
    basicFiveInfo: {
      name: `山田 太郎${i}`,
      nameKana: 'ヤマダ タロウ',
      address: '東京都千代田区1-1',
      dateOfBirth: '1980-04-01',
      sex: '1',
    },
  };
}

function pmhId(i: number): string {
  return `PMH${String(i).padStart(13, '0')}`;
}

function answerFor(items: readonly NumberingRequestItem[]): { items: NumberingAnswerItem[] } {
  return {
    items: items.map((it, i) => ({ myNumber: it.myNumber, pmhId: pmhId(i), outcome: 'assigned' as const })),
  };
}

function problem(status: number, code: string) {
  return { type: `https://errors.example/${code}`, title: code, status, code };
}

interface Seen {
  headers: Record<string, string>;
  body: unknown;
}

function setup(options: Partial<InsurerHttpClientOptions> = {}) {
  const agent = new MockAgent();
  agent.disableNetConnect();
  agents.push(agent);
  const pool = agent.get(ORIGIN);
  const sleeps: number[] = [];
  const seen: Seen[] = [];
  const client = new InsurerHttpClient({
    baseUrl: ORIGIN,
    token: 'test-token',
    dispatcher: agent,
    timeoutMs: 1_000,
    maxAttempts: 5,
    backoff: { baseMs: 100, maxMs: 5_000 },
    breaker: new CircuitBreaker({ failureThreshold: 1_000 }),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    ...options,
  });
  /** Intercepts one POST; the reply callback records what the client sent. */
  const on = (statusCode: number, data: unknown, headers: Record<string, string> = JSON_HEADERS) =>
    pool.intercept({ path: PMH_ID_REQUESTS_PATH, method: 'POST' }).reply((opts) => {
      seen.push({ headers: headersOf(opts.headers), body: JSON.parse(String(opts.body)) });
      return {
        statusCode,
        data: typeof data === 'string' ? data : JSON.stringify(data),
        responseOptions: { headers },
      };
    });
  return { agent, pool, client, sleeps, seen, on };
}

function headersOf(h: unknown): Record<string, string> {
  if (h instanceof Headers) return Object.fromEntries(h.entries());
  if (Array.isArray(h)) {
    const out: Record<string, string> = {};
    for (let i = 0; i + 1 < h.length; i += 2) out[String(h[i]).toLowerCase()] = String(h[i + 1]);
    return out;
  }
  return Object.fromEntries(
    Object.entries((h ?? {}) as Record<string, string>).map(([k, v]) => [k.toLowerCase(), String(v)]),
  );
}

/** Awaits a rejection, records it for the 個人番号 check and asserts its class. */
async function rejection<E extends Error>(p: Promise<unknown>, cls: new (...args: never[]) => E): Promise<E> {
  const err = await p.then(
    () => {
      throw new Error('expected a rejection, got an answer');
    },
    (e: unknown) => e,
  );
  if (err instanceof Error) thrown.push(err);
  expect(err, `expected ${cls.name}, got ${String(err)}`).toBeInstanceOf(cls);
  expect((err as Error).message, 'an error message must not carry a 12-digit run').not.toMatch(TWELVE_DIGITS);
  return err as E;
}

const items2 = [person(1), person(2)];

describe('InsurerHttpClient: the wire', () => {
  it('posts the batch with bearer token, idempotency key and request id, and returns the checked answer', async () => {
    const { client, on, seen } = setup();
    on(200, answerFor(items2));
    const answer = await client.requestPmhIds({
      idempotencyKey: 'batch-1',
      items: items2,
      requestId: 'req-1',
    });
    expect(answer).toEqual(answerFor(items2).items);
    expect(seen).toHaveLength(1);
    const [call] = seen;
    expect(call?.headers['content-type']).toBe('application/json');
    expect(call?.headers.authorization).toBe('Bearer test-token');
    expect(call?.headers['idempotency-key']).toBe('batch-1');
    expect(call?.headers['x-request-id']).toBe('req-1');
    expect(call?.body).toEqual({ items: items2 });
  });

  it('returns cross-check-failed and not-found items with a null pmhId and their reasons', async () => {
    const { client, on } = setup();
    const answer = {
      items: [
        {
          myNumber: items2[0]?.myNumber,
          pmhId: null,
          outcome: 'cross-check-failed',
          reasons: [{ field: 'name', verdict: 'mismatch' }],
        },
        { myNumber: items2[1]?.myNumber, pmhId: null, outcome: 'not-found' },
      ],
    };
    on(200, answer);
    await expect(client.requestPmhIds({ idempotencyKey: 'k', items: items2 })).resolves.toEqual(answer.items);
  });

  it('accepts a baseUrl with a trailing slash', async () => {
    const { client, on } = setup({ baseUrl: `${ORIGIN}/` });
    on(200, answerFor(items2));
    await expect(client.requestPmhIds({ idempotencyKey: 'k', items: items2 })).resolves.toHaveLength(2);
  });

  it('refuses an invalid batch before sending anything', async () => {
    const { client, on, seen } = setup();
    on(200, answerFor(items2));
    await rejection(client.requestPmhIds({ idempotencyKey: 'k', items: [] }), NumberingProtocolError);
    const bad = { ...person(1), myNumber: '12345' };
    await rejection(client.requestPmhIds({ idempotencyKey: 'k', items: [bad] }), NumberingProtocolError);
    await rejection(
      client.requestPmhIds({ idempotencyKey: 'bad key\n', items: items2 }),
      NumberingProtocolError,
    );
    expect(seen, 'nothing may reach the server').toHaveLength(0);
  });
});

describe('InsurerHttpClient: retries', () => {
  it('retries a 500 and sends the same idempotency key and request id on both attempts', async () => {
    const { client, on, seen, sleeps } = setup();
    on(500, problem(500, 'internal'), PROBLEM_HEADERS);
    on(200, answerFor(items2));
    await expect(client.requestPmhIds({ idempotencyKey: 'same-key', items: items2 })).resolves.toHaveLength(
      2,
    );
    expect(seen).toHaveLength(2);
    expect(seen.map((s) => s.headers['idempotency-key'])).toEqual(['same-key', 'same-key']);
    expect(seen[0]?.headers['x-request-id']).toBeTruthy();
    expect(seen[1]?.headers['x-request-id']).toBe(seen[0]?.headers['x-request-id']);
    expect(sleeps).toEqual([50]);
  });

  it('retries an attempt that times out and then succeeds', async () => {
    const { client, on, seen } = setup({ timeoutMs: 50 });
    on(200, answerFor(items2)).delay(2_000);
    on(200, answerFor(items2));
    const started = Date.now();
    await expect(client.requestPmhIds({ idempotencyKey: 'slow', items: items2 })).resolves.toHaveLength(2);
    expect(Date.now() - started, 'the slow attempt must be cut at timeoutMs').toBeLessThan(1_500);
    expect(seen).toHaveLength(2);
    expect(seen.map((s) => s.headers['idempotency-key'])).toEqual(['slow', 'slow']);
  });

  it('retries a connection error and then succeeds', async () => {
    const { client, pool, on } = setup();
    pool
      .intercept({ path: PMH_ID_REQUESTS_PATH, method: 'POST' })
      .replyWithError(new Error('socket hang up'));
    on(200, answerFor(items2));
    await expect(client.requestPmhIds({ idempotencyKey: 'k', items: items2 })).resolves.toHaveLength(2);
  });

  it('retries 408 and 429', async () => {
    const { client, on, seen } = setup();
    on(408, problem(408, 'timeout'), PROBLEM_HEADERS);
    on(429, problem(429, 'too-many'), PROBLEM_HEADERS);
    on(200, answerFor(items2));
    await expect(client.requestPmhIds({ idempotencyKey: 'k', items: items2 })).resolves.toHaveLength(2);
    expect(seen).toHaveLength(3);
  });

  it('throws NumberingUnavailableError after maxAttempts 503s, sleeping full-jitter delays within bounds between attempts', async () => {
    const randoms = [0.99, 0.5, 0.25];
    const { client, on, seen, sleeps } = setup({
      maxAttempts: 4,
      backoff: { baseMs: 100, maxMs: 250 },
      random: () => randoms.shift() ?? 0,
    });
    for (let i = 0; i < 4; i++) on(503, problem(503, 'unavailable'), PROBLEM_HEADERS);
    const err = await rejection(
      client.requestPmhIds({ idempotencyKey: 'k', items: items2 }),
      NumberingUnavailableError,
    );
    expect(err.message).toContain('4 attempts');
    expect(err.message).toContain('503');
    expect(seen).toHaveLength(4);
    expect(sleeps, 'one sleep between attempts, none after the last').toHaveLength(3);
    sleeps.forEach((ms, retry) => {
      const cap = Math.min(250, 100 * 2 ** retry);
      expect(ms, `sleep ${retry} within [0, ${cap})`).toBeGreaterThanOrEqual(0);
      expect(ms, `sleep ${retry} within [0, ${cap})`).toBeLessThan(cap);
    });
    expect(sleeps).toEqual([99, 100, 62]);
  });

  it('honours retry-after seconds on 429, capped by backoff.maxMs', async () => {
    const { client, on, sleeps } = setup({ backoff: { baseMs: 100, maxMs: 1_500 } });
    on(429, problem(429, 'too-many'), { ...PROBLEM_HEADERS, 'retry-after': '1' });
    on(429, problem(429, 'too-many'), { ...PROBLEM_HEADERS, 'retry-after': '30' });
    on(200, answerFor(items2));
    await expect(client.requestPmhIds({ idempotencyKey: 'k', items: items2 })).resolves.toHaveLength(2);
    expect(sleeps).toEqual([1_000, 1_500]);
  });

  it('throws NumberingProtocolError on 400 without retrying, naming status and problem code', async () => {
    const { client, on, seen, sleeps } = setup();
    on(400, problem(400, 'validation-failed'), PROBLEM_HEADERS);
    const err = await rejection(
      client.requestPmhIds({ idempotencyKey: 'k', items: items2 }),
      NumberingProtocolError,
    );
    expect(err.message).toContain('400');
    expect(err.message).toContain('validation-failed');
    expect(seen).toHaveLength(1);
    expect(sleeps).toHaveLength(0);
  });

  it('does not repeat a problem code that could carry personal data', async () => {
    const { client, on } = setup();
    on(409, problem(409, items2[0]?.myNumber ?? ''), PROBLEM_HEADERS);
    const err = await rejection(
      client.requestPmhIds({ idempotencyKey: 'k', items: items2 }),
      NumberingProtocolError,
    );
    expect(err.message).toBe('insurer answered HTTP 409');
  });
});

describe('InsurerHttpClient: answer validation', () => {
  async function refused(
    data: unknown,
    headers: Record<string, string> = JSON_HEADERS,
  ): Promise<NumberingProtocolError> {
    const { client, on, seen } = setup();
    on(200, data, headers);
    const err = await rejection(
      client.requestPmhIds({ idempotencyKey: 'k', items: items2 }),
      NumberingProtocolError,
    );
    expect(seen, 'a protocol error is not retried').toHaveLength(1);
    return err;
  }

  it('refuses an answer with an extra field at top level', async () => {
    await refused({ ...answerFor(items2), debug: items2[0]?.myNumber });
  });

  it('refuses an answer with an extra field inside an item', async () => {
    const answer = answerFor(items2);
    await refused({ items: [answer.items[0], { ...answer.items[1], name: '山田 太郎2' }] });
  });

  it('refuses an answer carrying another person’s 個人番号', async () => {
    const answer = answerFor(items2);
    const other = { ...answer.items[1], myNumber: '999999999999' } as NumberingAnswerItem;
    const err = await refused({ items: [answer.items[0], other] });
    expect(err.message).toContain('item 1');
  });

  it('refuses an answer with the right people in the wrong order', async () => {
    const answer = answerFor(items2);
    await refused({ items: [answer.items[1], answer.items[0]] });
  });

  it('refuses an answer with fewer or more items than requested', async () => {
    const answer = answerFor(items2);
    await refused({ items: answer.items.slice(0, 1) });
    await refused({ items: [...answer.items, answerFor([person(3)]).items[0]] });
  });

  it('refuses assigned or existing with a null pmhId', async () => {
    const answer = answerFor(items2);
    await refused({ items: [answer.items[0], { ...answer.items[1], pmhId: null }] });
    await refused({ items: [answer.items[0], { ...answer.items[1], outcome: 'existing', pmhId: null }] });
  });

  it('refuses cross-check-failed or not-found with a pmhId', async () => {
    const answer = answerFor(items2);
    await refused({ items: [answer.items[0], { ...answer.items[1], outcome: 'not-found' }] });
    await refused({ items: [answer.items[0], { ...answer.items[1], outcome: 'cross-check-failed' }] });
  });

  it('refuses a body that is not JSON without quoting it', async () => {
    const err = await refused(`{"items":[{"myNumber":"${items2[0]?.myNumber}",`);
    expect(err.message).toBe('answer refused: body is not JSON');
  });

  it('refuses a 200 that is not application/json', async () => {
    await refused(JSON.stringify(answerFor(items2)), { 'content-type': 'text/html' });
  });

  it('refuses an invalid pmhId', async () => {
    const answer = answerFor(items2);
    await refused({ items: [answer.items[0], { ...answer.items[1], pmhId: 'lowercase-id' }] });
  });

  it('throws NumberingProtocolError whenever one item’s 個人番号 is replaced by another (property)', async () => {
    const date = fc
      .tuple(
        fc.integer({ min: 1900, max: 2024 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 28 }),
      )
      .map(([y, m, d]) => `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`);
    const myNumber = fc.stringMatching(/^\d{12}$/);
    const item: fc.Arbitrary<NumberingRequestItem> = fc.record({
      myNumber,
      basicFiveInfo: fc.record({
        name: fc.string({ maxLength: 30 }),
        nameKana: fc.string({ maxLength: 30 }),
        address: fc.string({ maxLength: 60 }),
        dateOfBirth: date,
        sex: fc.constantFrom('1', '2', '9'),
      }),
    });
    const outcome = fc.constantFrom('assigned', 'existing', 'cross-check-failed', 'not-found' as const);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(item, outcome), { minLength: 1, maxLength: 20 }),
        fc.nat(),
        myNumber,
        async (pairs, at, replacement) => {
          const items = pairs.map(([it]) => it);
          const index = at % items.length;
          fc.pre(replacement !== items[index]?.myNumber);
          const answer = pairs.map(([it, o], i) => ({
            myNumber: i === index ? replacement : it.myNumber,
            pmhId: o === 'assigned' || o === 'existing' ? pmhId(i) : null,
            outcome: o,
          }));
          const { client, on } = setup({ maxAttempts: 1 });
          on(200, { items: answer });
          await rejection(client.requestPmhIds({ idempotencyKey: 'prop', items }), NumberingProtocolError);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('InsurerHttpClient: circuit breaker', () => {
  it('opens after N failed attempts, rejects without calling the server, half-opens after openMs and closes on success', async () => {
    let clock = 0;
    const transitions: string[] = [];
    const breaker = new CircuitBreaker({
      failureThreshold: 3,
      openMs: 10_000,
      now: () => clock,
      onStateChange: (to, from) => transitions.push(`${from}→${to}`),
    });
    const { client, pool } = setup({ breaker, maxAttempts: 1 });
    let serverCalls = 0;
    pool
      .intercept({ path: PMH_ID_REQUESTS_PATH, method: 'POST' })
      .reply(() => {
        serverCalls++;
        return {
          statusCode: 503,
          data: JSON.stringify(problem(503, 'down')),
          responseOptions: { headers: PROBLEM_HEADERS },
        };
      })
      .times(3);

    for (let i = 0; i < 3; i++)
      await rejection(
        client.requestPmhIds({ idempotencyKey: `k${i}`, items: items2 }),
        NumberingUnavailableError,
      );
    expect(serverCalls).toBe(3);
    expect(breaker.state).toBe('open');

    const open = await rejection(
      client.requestPmhIds({ idempotencyKey: 'k3', items: items2 }),
      NumberingUnavailableError,
    );
    expect(open.message).toBe('circuit open');
    expect(serverCalls, 'an open circuit must not call the server').toBe(3);

    clock += 10_000;
    expect(breaker.state).toBe('half-open');
    pool.intercept({ path: PMH_ID_REQUESTS_PATH, method: 'POST' }).reply(() => {
      serverCalls++;
      return {
        statusCode: 200,
        data: JSON.stringify(answerFor(items2)),
        responseOptions: { headers: JSON_HEADERS },
      };
    });
    await expect(client.requestPmhIds({ idempotencyKey: 'k4', items: items2 })).resolves.toHaveLength(2);
    expect(serverCalls).toBe(4);
    expect(breaker.state).toBe('closed');
    expect(transitions).toEqual(['closed→open', 'open→half-open', 'half-open→closed']);
  });

  it('stops retrying within a call once the circuit opens', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2 });
    const { client, on, seen, sleeps } = setup({ breaker, maxAttempts: 5 });
    for (let i = 0; i < 5; i++) on(503, problem(503, 'down'), PROBLEM_HEADERS);
    const err = await rejection(
      client.requestPmhIds({ idempotencyKey: 'k', items: items2 }),
      NumberingUnavailableError,
    );
    expect(err.message).toBe('circuit open');
    expect(seen).toHaveLength(2);
    expect(sleeps).toHaveLength(2);
  });

  it('counts a protocol error as a breaker failure', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    const { client, on } = setup({ breaker });
    on(200, { items: [] });
    await rejection(client.requestPmhIds({ idempotencyKey: 'k', items: items2 }), NumberingProtocolError);
    expect(breaker.state).toBe('open');
  });
});

describe('createInsurerDispatcher', () => {
  it('builds a keep-alive pool for the origin and refuses TLS options on plain http', async () => {
    const pool = createInsurerDispatcher('http://127.0.0.1:4100', { connections: 2 });
    await pool.close();
    expect(() => createInsurerDispatcher('http://127.0.0.1:4100', { tls: { ca: 'x' } })).toThrow(RangeError);
  });
});
