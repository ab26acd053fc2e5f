import { readFileSync } from 'node:fs';
import { MockAgent } from 'undici';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CircuitBreaker } from '../../../src/gateway/http/circuit-breaker.js';
import {
  type DeliveryAnswer,
  REMOTE_MASKED_MY_NUMBER,
  RemotePmhClient,
  type RemotePmhClientOptions,
} from '../../../src/gateway/remote-pmh/index.js';
import { type RegistrationRecord, registrationRecordSchema } from '../../../src/pmh/index.js';

const ORIGIN = 'http://pmh.test:4000';
const BASE_URL = `${ORIGIN}/pmh/v1`;
const TASKS_PATH = '/pmh/v1/registration-tasks';
const JSON_HEADERS = { 'content-type': 'application/json' };
const PROBLEM_HEADERS = { 'content-type': 'application/problem+json' };
const TWELVE_DIGITS = /\d{12}/;

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../fixtures/pmh-public-api/${name}`, import.meta.url), 'utf8'));

/** The request body a PMH expects, written by hand from GLOSSARY.md. */
const expectedBody = z.array(z.record(z.string(), z.unknown())).parse(fixture('registration-request.json'));
const fields = z.record(z.string(), z.array(z.string())).parse(fixture('record-fields.json'));
const records: RegistrationRecord[] = z.array(registrationRecordSchema).parse(expectedBody);
const fixtureMyNumbers = expectedBody.map((r) => String(r.myNumber));

/** Every answer any test saw; checked for a 個人番号 at the end. */
const answers: unknown[] = [];
const agents: MockAgent[] = [];

afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close()));
});

afterAll(() => {
  expect(answers.length, 'the suite should have seen answers').toBeGreaterThan(10);
  for (const answer of answers) {
    const text = JSON.stringify(answer);
    expect(text, 'an answer carries a 12-digit run').not.toMatch(TWELVE_DIGITS);
    for (const n of fixtureMyNumbers) expect(text, 'an answer carries the fixture 個人番号').not.toContain(n);
  }
});

interface Seen {
  headers: Record<string, string>;
  body: unknown;
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

function setup(options: Partial<RemotePmhClientOptions> = {}) {
  const agent = new MockAgent();
  agent.disableNetConnect();
  agents.push(agent);
  const pool = agent.get(ORIGIN);
  const seen: Seen[] = [];
  const client = new RemotePmhClient({
    baseUrl: BASE_URL,
    dispatcher: agent,
    timeoutMs: 1_000,
    breaker: new CircuitBreaker({ failureThreshold: 1_000 }),
    ...options,
  });
  /** Intercepts one request; the reply records what the client sent. */
  const on = (
    statusCode: number,
    data: unknown,
    headers: Record<string, string> = JSON_HEADERS,
    path = TASKS_PATH,
    method: 'GET' | 'POST' = 'POST',
  ) =>
    pool.intercept({ path, method }).reply((opts) => {
      seen.push({
        headers: headersOf(opts.headers),
        body: opts.body === undefined || opts.body === null ? undefined : JSON.parse(String(opts.body)),
      });
      return {
        statusCode,
        data: typeof data === 'string' ? data : JSON.stringify(data),
        responseOptions: { headers },
      };
    });
  const send = async (input: { idempotencyKey?: string; token?: string } = {}) => {
    const answer = await client.postRegistrationTasks({
      token: input.token,
      idempotencyKey: input.idempotencyKey ?? 'batch-1',
      records,
    });
    answers.push(answer);
    return answer;
  };
  return { agent, pool, client, seen, on, send };
}

function results(n = records.length) {
  return {
    results: Array.from({ length: n }, (_, index) => ({
      index,
      subjectId: '0b8f3a9e-5d4c-4b7a-9e2f-1c3d5e7f9a0b',
      outcome: 'created',
    })),
  };
}

function problem(status: number, code: string, errors?: unknown[]) {
  return { type: `/problems/${code}`, title: code, status, code, ...(errors ? { errors } : {}) };
}

/** Every key of a sent record (and of its nested objects) must be a public PMH field name. */
function unknownKeys(record: Record<string, unknown>): string[] {
  const out: string[] = [];
  const check = (obj: unknown, allowed: string[] | undefined, where: string) => {
    for (const key of Object.keys(obj as object)) if (!allowed?.includes(key)) out.push(`${where}.${key}`);
  };
  check(record, fields.record, 'record');
  for (const key of ['basicFiveInfo', 'maxCopaymentAmount'] as const)
    if (record[key] !== undefined) check(record[key], fields[key], key);
  for (const key of ['designatedMedicalInstitutions', 'certificationDetail'] as const)
    for (const item of (record[key] as unknown[] | undefined) ?? []) check(item, fields[key], key);
  return out;
}

describe('RemotePmhClient: the request', () => {
  it('sends the records exactly as the public PMH API names them, with bearer and idempotency key', async () => {
    const { on, seen, send } = setup();
    on(200, results());
    const answer = await send({ token: 'test-token' });
    expect(answer.kind).toBe('results');
    expect(seen).toHaveLength(1);
    const sent = seen[0];
    expect(sent?.body, 'the sent body must deep-equal the hand-written fixture').toStrictEqual(expectedBody);
    for (const record of (sent?.body ?? []) as Record<string, unknown>[])
      expect(unknownKeys(record), 'fields outside record-fields.json').toEqual([]);
    expect(sent?.headers.authorization).toBe('Bearer test-token');
    expect(sent?.headers['idempotency-key']).toBe('batch-1');
    expect(sent?.headers['content-type']).toBe('application/json');
    expect(sent?.headers.accept).toContain('application/problem+json');
    expect(sent?.headers['x-request-id']).toMatch(/^[\x21-\x7E]+$/);
  });

  it('sends the same idempotency key and body on a resend', async () => {
    const { on, seen, send } = setup();
    on(503, problem(503, 'not-ready'), PROBLEM_HEADERS);
    on(200, results());
    expect((await send({ idempotencyKey: 'same-key' })).kind).toBe('retry');
    expect((await send({ idempotencyKey: 'same-key' })).kind).toBe('results');
    expect(seen.map((s) => s.headers['idempotency-key'])).toEqual(['same-key', 'same-key']);
    expect(seen[1]?.body).toStrictEqual(seen[0]?.body);
  });

  it('sends no authorization header without a token', async () => {
    const { on, seen, send } = setup();
    on(200, results());
    await send();
    expect(seen[0]?.headers).not.toHaveProperty('authorization');
  });

  it('refuses a record that does not fit the PMH shape before sending anything, naming only its index', async () => {
    const { on, seen, client } = setup();
    on(200, results());
    const bad = { ...records[1], myNumber: '123456789012' } as RegistrationRecord;
    const err = await client
      .postRegistrationTasks({ idempotencyKey: 'k', records: [records[0] as RegistrationRecord, bad] })
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      );
    expect(err?.message).toBe('record does not fit the PMH shape at index 1');
    expect(seen, 'nothing may be sent').toHaveLength(0);
  });
});

describe('RemotePmhClient: answer classes', () => {
  it('returns per-record results, with rejected records and their errors', async () => {
    const { on, send } = setup();
    on(200, {
      results: [
        { index: 0, subjectId: '0b8f3a9e-5d4c-4b7a-9e2f-1c3d5e7f9a0b', outcome: 'updated' },
        {
          index: 1,
          subjectId: null,
          outcome: 'rejected',
          errors: [
            { pointer: '/myNumber', code: 'my-number-check-digit' },
            { pointer: '/735192648025', code: 'x-735192648025' },
          ],
        },
      ],
    });
    const answer = await send();
    expect(answer).toEqual({
      kind: 'results',
      results: [
        { index: 0, subjectId: '0b8f3a9e-5d4c-4b7a-9e2f-1c3d5e7f9a0b', outcome: 'updated' },
        {
          index: 1,
          subjectId: null,
          outcome: 'rejected',
          errors: [
            { pointer: '/myNumber', code: 'my-number-check-digit' },
            { pointer: '/?', code: 'remote-error' },
          ],
        },
      ],
    } satisfies DeliveryAnswer);
  });

  it('refuses an answer with an unexpected field', async () => {
    const { on, send } = setup();
    const body = results();
    on(200, { ...body, results: body.results.map((r) => ({ ...r, myNumber: fixtureMyNumbers[0] })) });
    const answer = await send();
    expect(answer.kind).toBe('malformed');
    expect(answer).toMatchObject({ reason: expect.stringContaining('unrecognized_keys') });
  });

  it('refuses an answer with an unexpected top-level field', async () => {
    const { on, send } = setup();
    on(200, { ...results(), note: 'extra' });
    expect((await send()).kind).toBe('malformed');
  });

  it('refuses an answer with the wrong number of results', async () => {
    const { on, send } = setup();
    on(200, results(1));
    expect(await send()).toEqual({ kind: 'malformed', reason: 'answer refused: wrong number of results' });
  });

  it('refuses an answer whose indexes do not follow the records', async () => {
    const { on, send } = setup();
    const body = results();
    on(200, { results: body.results.reverse() });
    expect((await send()).kind).toBe('malformed');
  });

  it('refuses an answer that is not JSON, without quoting it', async () => {
    const { on, send } = setup();
    on(200, `{"results": [${fixtureMyNumbers[0]}`);
    expect(await send()).toEqual({ kind: 'malformed', reason: 'body is not JSON' });
  });

  it('refuses a 2xx that is not application/json', async () => {
    const { on, send } = setup();
    on(200, results(), { 'content-type': 'text/html' });
    expect(await send()).toEqual({ kind: 'malformed', reason: 'content-type is not application/json' });
  });

  it('refuses a 2xx that is not UTF-8', async () => {
    const { pool, send } = setup();
    pool
      .intercept({ path: TASKS_PATH, method: 'POST' })
      .reply(200, Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { headers: JSON_HEADERS });
    expect(await send()).toEqual({ kind: 'malformed', reason: 'body is not UTF-8' });
  });

  it('returns the indexed errors of a 422, with unsafe codes replaced', async () => {
    const { on, send } = setup();
    on(
      422,
      problem(422, 'validation-failed', [
        { index: 0, pointer: '/0/basicFiveInfo/nameKana', code: 'invalid-kana' },
        { index: 1, pointer: '/1/myNumber', code: `bad-${fixtureMyNumbers[1]}` },
      ]),
      PROBLEM_HEADERS,
    );
    expect(await send()).toEqual({
      kind: 'invalid-records',
      status: 422,
      errors: [
        { index: 0, pointer: '/0/basicFiveInfo/nameKana', code: 'invalid-kana' },
        { index: 1, pointer: '/1/myNumber', code: 'remote-error' },
      ],
    } satisfies DeliveryAnswer);
  });

  it('refuses a 422 without indexed errors', async () => {
    const { on, send } = setup();
    on(422, problem(422, 'linkage-key-refused', [{ pointer: '', code: 'expired' }]), PROBLEM_HEADERS);
    expect(await send()).toEqual({ kind: 'refused', status: 422, code: 'linkage-key-refused' });
  });

  it.each([
    [400, 'malformed-request'],
    [401, 'unauthorized'],
    [403, 'forbidden'],
    [404, 'not-found'],
    [409, 'conflict'],
    [413, 'payload-too-large'],
  ])('refuses on %i with the remote code', async (status, code) => {
    const { on, send } = setup();
    on(status, problem(status, code), PROBLEM_HEADERS);
    expect(await send()).toEqual({ kind: 'refused', status, code });
  });

  it('drops a remote code that could carry a number', async () => {
    const { on, send } = setup();
    on(409, problem(409, `dup-${fixtureMyNumbers[0]}`), PROBLEM_HEADERS);
    expect(await send()).toEqual({ kind: 'refused', status: 409 });
  });

  it('asks for a retry on 429, honouring Retry-After in seconds', async () => {
    const { on, send } = setup();
    on(429, problem(429, 'too-many-requests'), { ...PROBLEM_HEADERS, 'retry-after': '3' });
    expect(await send()).toEqual({ kind: 'retry', reason: 'HTTP 429 too-many-requests', retryAfterMs: 3000 });
  });

  it.each([408, 500, 502, 503])('asks for a retry on %i', async (status) => {
    const { on, send } = setup();
    on(status, 'upstream trouble', { 'content-type': 'text/plain' });
    expect(await send()).toEqual({ kind: 'retry', reason: `HTTP ${status}` });
  });

  it('asks for a retry after a connection error, naming only its code', async () => {
    const { pool, send } = setup();
    pool
      .intercept({ path: TASKS_PATH, method: 'POST' })
      .replyWithError(Object.assign(new Error(`socket ${fixtureMyNumbers[0]}`), { code: 'ECONNRESET' }));
    expect(await send()).toEqual({ kind: 'retry', reason: 'connection error (ECONNRESET)' });
  });

  it('asks for a retry when the remote is slower than timeoutMs', async () => {
    const { on, send } = setup({ timeoutMs: 50 });
    on(200, results()).delay(2_000);
    const started = Date.now();
    expect(await send()).toEqual({ kind: 'retry', reason: 'timeout' });
    expect(Date.now() - started, 'the call must be cut at timeoutMs').toBeLessThan(1_500);
  });
});

describe('RemotePmhClient: circuit breaker', () => {
  it('opens after N retry answers and then answers circuit open without a request', async () => {
    let clock = 0;
    const breaker = new CircuitBreaker({ failureThreshold: 3, openMs: 10_000, now: () => clock });
    const { on, seen, send } = setup({ breaker });
    for (let i = 0; i < 4; i++) on(503, problem(503, 'not-ready'), PROBLEM_HEADERS);
    for (let i = 0; i < 3; i++) expect((await send()).kind).toBe('retry');
    expect(breaker.state).toBe('open');
    clock += 4_000;
    expect(await send()).toEqual({ kind: 'retry', reason: 'circuit open', retryAfterMs: 6_000 });
    expect(seen, 'an open circuit must not call the remote').toHaveLength(3);
  });

  it('counts malformed answers as failures', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    const { on, send } = setup({ breaker });
    on(200, results(1));
    expect((await send()).kind).toBe('malformed');
    expect(breaker.state).toBe('open');
  });

  it('does not count refusals or invalid records against the remote', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    const { on, send } = setup({ breaker });
    on(409, problem(409, 'conflict'), PROBLEM_HEADERS);
    on(
      422,
      problem(422, 'validation-failed', [{ index: 0, pointer: '/0', code: 'required' }]),
      PROBLEM_HEADERS,
    );
    expect((await send()).kind).toBe('refused');
    expect((await send()).kind).toBe('invalid-records');
    expect(breaker.state).toBe('closed');
  });
});

describe('RemotePmhClient: getSubjectRecord', () => {
  const subjectId = '0b8f3a9e-5d4c-4b7a-9e2f-1c3d5e7f9a0b';
  const subjectPath = `/pmh/v1/subjects/${subjectId}`;
  const subject = (myNumber: string) => ({
    subjectId,
    municipalityCode: '131041',
    businessId: 'jiritsu-seishin',
    myNumber,
    basicFiveInfo: {
      name: '東京 花子',
      nameKana: 'トウキョウ ハナコ',
      address: '東京都新宿区西新宿二丁目8番1号',
      dateOfBirth: '1980-04-01',
      sex: '2',
    },
    pmhId: null,
    numbering: { status: 'pending' },
    isNotDisclosed: false,
    viewingSuspended: false,
    createdAt: '2025-04-01T00:00:00.000Z',
    updatedAt: '2025-04-01T00:00:00.000Z',
    entitlements: [
      {
        entitlementId: '1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f',
        orgSpecificCertificateTypeId: 'JIRITSUSEISHIN',
        certificationSubKey: '',
        certificationName: '自立支援医療受給者証（精神通院）',
        medicalSubsidyInsurerNumber: '21130018',
        medicalSubsidyRecipientNumber: '4829131',
        maxCopaymentAmount: { amount: 5000 },
        designatedMedicalInstitutions: [{ institutionCode: '1312345679' }],
        validFrom: '2025-04-01',
        certificationDetail: [{ displayOrder: 1, itemName: '薬局', itemValue: '西新宿薬局' }],
        createdAt: '2025-04-01T00:00:00.000Z',
        updatedAt: '2025-04-01T00:00:00.000Z',
      },
    ],
  });

  it('returns the subject with a masked or a valid 個人番号', async () => {
    const { on, client, seen } = setup();
    on(200, subject(REMOTE_MASKED_MY_NUMBER), JSON_HEADERS, subjectPath, 'GET');
    on(200, subject(fixtureMyNumbers[0] as string), JSON_HEADERS, subjectPath, 'GET');
    const masked = await client.getSubjectRecord({ token: 'test-token', subjectId });
    expect(masked.kind).toBe('found');
    expect(seen[0]?.headers.authorization).toBe('Bearer test-token');
    const clear = await client.getSubjectRecord({ subjectId });
    expect(clear.kind === 'found' && clear.subject.myNumber).toBe(fixtureMyNumbers[0]);
  });

  it('answers absent on 404', async () => {
    const { on, client } = setup();
    on(404, problem(404, 'not-found'), PROBLEM_HEADERS, subjectPath, 'GET');
    expect(await client.getSubjectRecord({ subjectId })).toEqual({ kind: 'absent' });
  });

  it.each([
    ['an unexpected field', { ...subject(REMOTE_MASKED_MY_NUMBER), note: 'x' }],
    ['a 個人番号 that is neither masked nor valid', subject('123456789012')],
    [
      'another subject',
      { ...subject(REMOTE_MASKED_MY_NUMBER), subjectId: '1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f' },
    ],
    [
      'an unexpected field in an entitlement',
      (() => {
        const s = subject(REMOTE_MASKED_MY_NUMBER);
        return { ...s, entitlements: [{ ...s.entitlements[0], myNumber: fixtureMyNumbers[0] }] };
      })(),
    ],
  ])('refuses a subject with %s', async (_what, body) => {
    const { on, client } = setup();
    on(200, body, JSON_HEADERS, subjectPath, 'GET');
    const answer = await client.getSubjectRecord({ subjectId });
    answers.push(answer);
    expect(answer).toEqual({ kind: 'unavailable', reason: 'malformed answer' });
  });

  it('is unavailable on 5xx and counts it against the remote', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    const { on, client } = setup({ breaker });
    on(503, problem(503, 'not-ready'), PROBLEM_HEADERS, subjectPath, 'GET');
    expect(await client.getSubjectRecord({ subjectId })).toEqual({
      kind: 'unavailable',
      reason: 'HTTP 503 not-ready',
    });
    expect(await client.getSubjectRecord({ subjectId })).toEqual({
      kind: 'unavailable',
      reason: 'circuit open',
    });
  });
});
