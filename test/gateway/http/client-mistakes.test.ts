import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createPrivateCa, issueCertificate } from '../../../src/crypto/index.js';
import { createLogger } from '../../../src/gateway/http/logger.js';
import { PROBLEMS } from '../../../src/gateway/http/problem.js';
import { createClient, SCOPES, type Scope, SERVICE_TENANT } from '../../../src/identity/index.js';
import { createInsurerApp } from '../../../src/intermediate/insurer/index.js';
import { ensureTenant } from '../../../src/pmh/index.js';
import { csvFile, csvRow, TEST_COLUMNS } from '../../fixtures/csv.js';
import {
  INSURER_SAMPLES,
  type Operation,
  operationsOf,
  ownedIds,
  SAMPLES,
  type Sample,
} from '../../fixtures/operations.js';
import { myNumber, record } from '../../fixtures/records.js';
import { createHarness, drainIntake } from '../../support/harness.js';

// "Never a 500 for a client's mistake": every operation of the gateway's and the insurer
// intermediate server's /openapi.json is sent requests a
// careless or hostile client could send — its valid sample with one field replaced, removed or
// added, a body of the wrong shape or type, text that is not JSON, path, query and header
// values of any shape — by a client allowed to call it. Each answer must be a success or a
// problem+json of the closed list with a 4xx status, and no answer to a mistake may repeat a
// 個人番号 the request carried.

const h = await createHarness();
const ALL_SCOPES = Object.values(SCOPES) as Scope[];

// Tokyo: the permit list lets it provide replicas, so the exchange's samples get past the permit check.
const municipalityCode = '130001';
await ensureTenant(h.database.db, municipalityCode, '東京都');
const ca = createPrivateCa({ commonName: 'client-mistakes CA' });
await h.system.exchange.registerAgency({
  agencyId: municipalityCode,
  name: '東京都',
  certPem: issueCertificate(ca, { commonName: 'fuzz agency', usage: 'agency' }).certPem,
});
const tenantToken = (
  await createClient(h.database.db, {
    name: 'fuzz',
    tenantCode: municipalityCode,
    businessId: 'fuzz',
    scopes: ALL_SCOPES,
  })
).token;
const serviceToken = (
  await createClient(h.database.db, {
    name: 'fuzz service',
    tenantCode: SERVICE_TENANT,
    businessId: SERVICE_TENANT,
    scopes: ALL_SCOPES,
  })
).token;

/** A server under test: its operations, a valid request for each, and who may call them. */
interface Target {
  name: string;
  operations: Operation[];
  samples: Record<string, Sample>;
  ids: Record<string, string>;
  /** Tokens to try, in order; an operation is called with the first one it does not refuse. */
  tokens: string[];
  request(path: string, init: RequestInit & { token: string }): Promise<Response>;
}

const gateway: Target = {
  name: 'gateway',
  operations: operationsOf(await (await h.request('/openapi.json')).json()),
  samples: SAMPLES,
  ids: await ownedIds(h, tenantToken),
  tokens: [tenantToken, serviceToken],
  request: (path, init) => h.request(path, init),
};

const insurerToken = randomBytes(24).toString('base64url');
const insurerApp = createInsurerApp({
  insurer: h.system.insurer,
  token: insurerToken,
  logger: createLogger(
    'debug',
    new Writable({
      write(chunk, _enc, cb) {
        h.logs.push(String(chunk));
        cb();
      },
    }),
  ),
});
const insurerRequest: Target['request'] = (path, { token, headers, ...init }) => {
  const all = new Headers(headers);
  all.set('authorization', `Bearer ${token}`);
  return Promise.resolve(insurerApp.request(path, { ...init, headers: all }));
};
const insurer: Target = {
  name: 'insurer',
  operations: operationsOf(await (await insurerRequest('/openapi.json', { token: insurerToken })).json()).map(
    (op) => ({ ...op, path: `/insurer/v1${op.path}` }),
  ),
  samples: INSURER_SAMPLES,
  ids: { bindingNumber: 'U00000000001' },
  tokens: [insurerToken],
  request: insurerRequest,
};

/** The 個人番号 the fuzzer plants; none may come back in an answer to a mistake. */
const PLANTED = Array.from({ length: 4 }, () => myNumber());

interface Attempt {
  path?: Record<string, string>;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** A body to send instead of the sample's: a value sent as JSON, or raw text. */
  body?: { json: unknown } | { raw: string };
  contentType?: string | null;
}

async function send(target: Target, op: Operation, token: string, attempt: Attempt = {}): Promise<Response> {
  const sample = target.samples[op.operationId] ?? {};
  const params = { ...target.ids, ...attempt.path };
  const path = op.path.replace(/\{(\w+)\}/g, (_, name: string) => params[name] ?? 'missing');
  const query = attempt.query ? `?${new URLSearchParams(attempt.query).toString()}` : (sample.query ?? '');
  const headers = new Headers({ ...sample.headers, ...attempt.headers });
  const contentType = attempt.contentType === undefined ? sample.contentType : attempt.contentType;
  if (contentType) headers.set('content-type', contentType);
  let body: string | undefined = sample.body;
  if (attempt.body) body = 'raw' in attempt.body ? attempt.body.raw : JSON.stringify(attempt.body.json);
  return target.request(`${path}${query}`, {
    method: op.method.toUpperCase(),
    token,
    headers,
    ...(body !== undefined && op.method !== 'get' ? { body } : {}),
  });
}

/** The first token the operation does not refuse. */
async function tokenFor(target: Target, op: Operation): Promise<string> {
  for (const token of target.tokens) {
    const res = await send(target, op, token);
    const code = res.status >= 400 ? ((await res.json()) as { code: string }).code : '';
    if (code !== 'unauthorized' && code !== 'forbidden') return token;
  }
  throw new Error(`no token may call ${op.operationId}`);
}

async function expectHandled(op: Operation, res: Response, attempt: Attempt): Promise<void> {
  const what = `${op.operationId} ${JSON.stringify(attempt).slice(0, 400)}`;
  const text = await res.text();
  expect(res.status, `${what} → ${text.slice(0, 300)}`).toBeLessThan(500);
  if (res.status < 400) return;
  expect(res.headers.get('content-type'), what).toContain('application/problem+json');
  const problem = JSON.parse(text) as { type: string; title: string; status: number; code: string };
  expect(Object.keys(PROBLEMS), what).toContain(problem.code);
  expect(problem.status, what).toBe(res.status);
  expect(problem.type, what).toBe(`/problems/${problem.code}`);
  for (const n of PLANTED) expect(text.includes(n), `${what} repeats a 個人番号: ${text}`).toBe(false);
}

// --- what a client may get wrong ------------------------------------------------------

const headerText = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 80,
});
const oddText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(
    '',
    ' ',
    '0',
    '-1',
    '1e309',
    'NaN',
    'null',
    'true',
    '__proto__',
    'constructor',
    '2025-02-30',
    'R0.1.1',
    '令和99年13月1日',
    '９９９',
    'ｶﾅ',
    '\u0000',
    '\uFEFF',
    '%',
    '%E0%A4%A',
    '../..',
    'x'.repeat(5000),
    ...PLANTED,
  ),
);
const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  oddText,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant([]),
  fc.constant({}),
  fc.array(oddText, { maxLength: 3 }),
  fc.dictionary(oddText, oddText, { maxKeys: 3 }),
  fc.constantFrom(...PLANTED.map(Number)),
);

/** Every path to a value inside a JSON value (arrays by index), the root excluded. */
function pathsOf(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== 'object') return [];
  const entries: [string | number, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : Object.entries(value);
  return entries.flatMap(([k, v]) => [[...prefix, k], ...pathsOf(v, [...prefix, k])]);
}

type Edit =
  | { kind: 'replace'; value: unknown }
  | { kind: 'remove' }
  | { kind: 'add'; key: string; value: unknown };

function edited(sample: unknown, path: (string | number)[], edit: Edit): unknown {
  const copy = structuredClone(sample) as Record<string | number, unknown>;
  let parent: Record<string | number, unknown> = copy;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  if (edit.kind === 'replace') parent[last] = edit.value;
  else if (edit.kind === 'remove') {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  } else {
    const target = parent[last];
    if (target && typeof target === 'object' && !Array.isArray(target))
      (target as Record<string, unknown>)[edit.key] = edit.value;
    else parent[last] = edit.value;
  }
  return copy;
}

const edit: fc.Arbitrary<Edit> = fc.oneof(
  oddValue.map((value) => ({ kind: 'replace' as const, value })),
  fc.constant({ kind: 'remove' as const }),
  fc.tuple(oddText, oddValue).map(([key, value]) => ({ kind: 'add' as const, key, value })),
);

const CONTENT_TYPES = [
  null,
  'application/json',
  'application/json; charset=utf-16',
  'text/plain',
  'text/csv',
  'text/csv; charset=shift_jis',
  'text/csv; charset=nonsense',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/problem+json',
  ';;',
];

/** Runs per property; `FUZZ_RUNS=500 npx vitest run test/gateway/http/client-mistakes.test.ts` digs deeper. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 25);
const TIMEOUT = Math.max(30_000, RUNS * 400);

const CASES = [gateway, insurer].flatMap((target) =>
  target.operations.map((op) => ({
    target,
    op,
    name: `${target.name} ${op.operationId}`,
    route: `${op.method} ${op.path}`,
  })),
);

describe.each(CASES)('$name ($route) with a client mistake', ({ target, op }) => {
  const sample = target.samples[op.operationId] ?? {};
  const sampleJson: unknown =
    sample.body && sample.contentType === 'application/json' ? JSON.parse(sample.body) : undefined;
  const pathNames = op.parameters.filter((p) => p.in === 'path').map((p) => p.name);
  const queryNames = op.parameters.filter((p) => p.in === 'query').map((p) => p.name);
  const headerNames = op.parameters.filter((p) => p.in === 'header').map((p) => p.name);

  it.skipIf(sampleJson === undefined)(
    'answers its sample with one field replaced, removed or added',
    async () => {
      const token = await tokenFor(target, op);
      const paths = pathsOf(sampleJson);
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...(paths.length ? paths : [[0]])), edit, async (path, e) => {
          const attempt: Attempt = { body: { json: edited(sampleJson, path, e) } };
          await expectHandled(op, await send(target, op, token, attempt), attempt);
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );

  it.skipIf(op.bodyTypes.length === 0)(
    'answers a body of any shape, type or encoding',
    async () => {
      const token = await tokenFor(target, op);
      const body = fc.oneof(
        oddValue.map((json) => ({ json })),
        fc.jsonValue({ maxDepth: 3 }).map((json) => ({ json })),
        fc.oneof(oddText, fc.string({ maxLength: 200 })).map((raw) => ({ raw })),
        fc.constantFrom({ raw: '' }, { raw: '{' }, { raw: '[1,' }, { raw: '\uFEFF[]' }, { raw: '"\\ud800"' }),
      );
      await fc.assert(
        fc.asyncProperty(body, fc.constantFrom(...CONTENT_TYPES), async (b, contentType) => {
          const attempt: Attempt = { body: b, contentType };
          await expectHandled(op, await send(target, op, token, attempt), attempt);
        }),
        { numRuns: RUNS * 2 },
      );
    },
    TIMEOUT,
  );

  it.skipIf(pathNames.length + queryNames.length + headerNames.length === 0)(
    'answers path, query and header values of any shape',
    async () => {
      const token = await tokenFor(target, op);
      /** Some of the named values (each one may be left out). */
      const someOf = (names: string[], value: fc.Arbitrary<string>) =>
        fc
          .record(Object.fromEntries(names.map((n) => [n, value])), { requiredKeys: [] })
          .map((r) => r as Record<string, string>);
      await fc.assert(
        fc.asyncProperty(
          someOf(pathNames, oddText).map((p) =>
            Object.fromEntries(Object.entries(p).map(([k, v]) => [k, encodeURIComponent(v)])),
          ),
          someOf([...queryNames, 'unknown'], oddText),
          someOf(headerNames, headerText),
          async (path, query, headers) => {
            const attempt: Attempt = { path, query, headers };
            await expectHandled(op, await send(target, op, token, attempt), attempt);
          },
        ),
        { numRuns: RUNS * 2 },
      );
    },
    TIMEOUT,
  );
});

describe('a 個人番号 put where it does not belong', () => {
  it('is not repeated in the problem, from the path or a field name, in any spelling', async () => {
    const [n] = PLANTED as [string];
    const inPath = await h.request(`/api/v1/subjects/${n}`, { token: tenantToken });
    const asField = await h.request('/api/v1/subjects', {
      method: 'POST',
      token: tenantToken,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ ...record(), [n]: 'x' }]),
    });
    const spaced = `${n.slice(0, 4)}-${n.slice(4, 8)}-${n.slice(8)}`;
    const wide = n.replace(/[0-9]/g, (d) => String.fromCharCode(0xff10 + Number(d)));
    const otherForms = await Promise.all(
      [spaced, encodeURIComponent(`${n.slice(0, 6)} ${n.slice(6)}`), encodeURIComponent(wide)].map((p) =>
        h.request(`/api/v1/subjects/${p}`, { token: tenantToken }),
      ),
    );
    for (const res of [inPath, asField, ...otherForms]) {
      expect(res.status).toBeGreaterThanOrEqual(400);
      const text = await res.text();
      expect(text).not.toContain(n);
      expect(text).not.toContain(spaced);
      expect(text).not.toContain(n.slice(0, 6));
      expect(text).toContain('[redacted]');
    }
  });
});

describe('a linkage file of any content', () => {
  it(
    'is stored or refused, and then every row ends with one outcome or the file fails with a reason',
    async () => {
      const row = csvRow(record());
      const header = csvFile([]).trimEnd();
      const body = fc.oneof(
        fc.string({ maxLength: 300 }),
        fc.array(fc.array(oddText, { maxLength: 20 }), { maxLength: 5 }).map((rows) => csvFile(rows)),
        fc
          .tuple(fc.nat({ max: row.length - 1 }), oddText)
          .map(([i, v]) => csvFile([row.map((cell, j) => (j === i ? v : cell))])),
        fc.string({ maxLength: 200 }).map((tail) => `${header}\r\n${tail}`),
        fc.tuple(fc.nat({ max: TEST_COLUMNS.length - 1 }), oddText).map(([i, name]) =>
          csvFile(
            [row],
            '\r\n',
            TEST_COLUMNS.map((c, j) => (j === i ? name : c)),
          ),
        ),
      );
      const op = gateway.operations.find((o) => o.operationId === 'uploadLinkageFile') as Operation;
      const accepted: string[] = [];
      await fc.assert(
        fc.asyncProperty(
          body,
          fc.constantFrom('text/csv', 'text/csv; charset=utf-8', 'text/csv; charset=shift_jis'),
          async (b, contentType) => {
            const attempt: Attempt = { body: { raw: b }, contentType, query: { fileName: 'fuzz.csv' } };
            const res = await send(gateway, op, tenantToken, attempt);
            if (res.status === 202)
              accepted.push(((await res.clone().json()) as { linkageFileId: string }).linkageFileId);
            await expectHandled(op, res, attempt);
          },
        ),
        { numRuns: RUNS * 2 },
      );
      await drainIntake(h.system);
      expect(accepted.length).toBeGreaterThan(0);
      for (const id of accepted) {
        const res = await h.request(`/api/v1/linkage-files/${id}?limit=1000`, { token: tenantToken });
        const text = await res.text();
        const file = JSON.parse(text) as { status: string };
        expect(['completed', 'failed'], text).toContain(file.status);
        for (const n of PLANTED)
          expect(text.includes(n), `the file's report repeats a 個人番号: ${text}`).toBe(false);
      }
    },
    TIMEOUT,
  );
});

describe('the log of all of the above', () => {
  it('records no unhandled error and no 個人番号', () => {
    const text = h.logs.join('');
    expect(text).not.toContain('unhandled error');
    for (const n of PLANTED) expect(text).not.toContain(n);
  });
});
