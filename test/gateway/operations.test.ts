import { Validator } from '@seriousme/openapi-schema-validator';
import { RegExpRouter } from 'hono/router/reg-exp-router';
import { describe, expect, it } from 'vitest';
import { csvFile, csvRow } from '../fixtures/csv.js';
import { record } from '../fixtures/records.js';
import { createHarness, drainIntake } from '../support/harness.js';

const h = await createHarness();

interface Operation {
  method: string;
  path: string;
  operationId: string;
  security?: unknown[];
}

const doc = (await (await h.request('/openapi.json')).json()) as {
  paths: Record<string, Record<string, { operationId?: string; security?: unknown[] }>>;
};
const operations: Operation[] = Object.entries(doc.paths).flatMap(([path, item]) =>
  Object.entries(item).map(([method, op]) => ({
    method,
    path,
    operationId: op.operationId ?? '',
    security: op.security,
  })),
);

/** A valid request for each operation, so that a refusal can only be about who asks. */
const SAMPLES: Record<string, { body?: string; contentType?: string; query?: string }> = {
  registerSubjects: { body: JSON.stringify([record()]), contentType: 'application/json' },
  postRegistrationTasks: { body: JSON.stringify([record()]), contentType: 'application/json' },
  getSubject: {},
  getSubmission: {},
  getSubjectRecord: {},
  updateEntitlement: { body: JSON.stringify({ incomeSegment: '低所得1' }), contentType: 'application/json' },
  expireEntitlement: {
    body: JSON.stringify({ forcedExpiryDate: '2025-12-31' }),
    contentType: 'application/json',
  },
  deleteSubject: {},
  setControlFlags: { body: JSON.stringify({ isNotDisclosed: true }), contentType: 'application/json' },
  uploadLinkageFile: { body: csvFile([csvRow(record())]), contentType: 'text/csv', query: '?fileName=a.csv' },
  getLinkageFile: {},
  resolveLinkageKey: {
    body: JSON.stringify({
      linkageKey: 'x'.repeat(40),
      institutionCode: '1312345679',
      dateOfCare: '2025-06-01',
    }),
    contentType: 'application/json',
  },
  linkPortalPseudonym: {
    body: JSON.stringify({
      cardSerial: 'C00000000001',
      pseudonym: 'p'.repeat(32),
      pmhId: 'ABCDEFGHJKMNPQRS',
    }),
    contentType: 'application/json',
  },
  lookupByPseudonym: {},
  getPermitList: {},
  registerReplicas: {
    body: JSON.stringify({
      procedure: 'public-assistance',
      records: [{ myNumber: record().myNumber, items: { 'jsi.certificate': 'x' } }],
    }),
    contentType: 'application/json',
  },
  issueProvisionCode: {
    body: JSON.stringify({ myNumber: record().myNumber }),
    contentType: 'application/json',
  },
  submitInquiry: {
    body: JSON.stringify({
      providerId: '130001',
      procedure: 'public-assistance',
      provisionCode: 'X',
      items: ['jsi.certificate'],
    }),
    contentType: 'application/json',
  },
  getInquiryResult: {},
  getReconciliationReport: {},
  listPendingReleases: {},
  releaseAnswer: {},
  refuseAnswer: { body: JSON.stringify({ reason: 'r' }), contentType: 'application/json' },
  replacePermitList: { body: JSON.stringify({ version: 'x' }), contentType: 'application/json' },
};

/** Path parameters that name a tenant's own resource (service operations have none). */
const TENANT_IDS = ['subjectId', 'entitlementId', 'linkageFileId'];

async function ownedIds(token: string) {
  const reg = await h.request('/api/v1/subjects', {
    method: 'POST',
    token,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([record()]),
  });
  const subjectId = ((await reg.json()) as { results: { subjectId: string }[] }).results[0]?.subjectId ?? '';
  const subject = (await (await h.request(`/api/v1/subjects/${subjectId}`, { token })).json()) as {
    entitlements: { entitlementId: string }[];
  };
  const up = await h.request('/api/v1/linkage-files?fileName=x.csv', {
    method: 'POST',
    token,
    headers: { 'content-type': 'text/csv' },
    body: csvFile([csvRow(record())]),
  });
  const linkageFileId = ((await up.json()) as { linkageFileId: string }).linkageFileId;
  await drainIntake(h.system);
  return {
    subjectId,
    entitlementId: subject.entitlements[0]?.entitlementId ?? '',
    linkageFileId,
    pseudonym: 'q'.repeat(32),
    inquiryId: '00000000-0000-4000-8000-000000000000',
    report: 'replicas',
  };
}

function call(op: Operation, ids: Record<string, string>, token?: string) {
  const sample = SAMPLES[op.operationId] ?? {};
  const path = op.path.replace(/\{(\w+)\}/g, (_, name: string) => ids[name] ?? 'missing');
  return h.request(`${path}${sample.query ?? ''}`, {
    method: op.method.toUpperCase(),
    ...(token ? { token } : {}),
    ...(sample.body
      ? { body: sample.body, headers: { 'content-type': sample.contentType ?? 'application/json' } }
      : {}),
  });
}

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(doc as never);
    expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
    expect(result.valid).toBe(true);
  });

  it('gives every operation an operationId and a sample in this test', () => {
    expect(operations.length).toBeGreaterThan(5);
    for (const op of operations) {
      expect(op.operationId, `${op.method} ${op.path}`).not.toBe('');
      expect(SAMPLES, `add a sample request for ${op.operationId}`).toHaveProperty(op.operationId);
    }
  });
});

describe.each(operations)('$operationId ($method $path)', (op) => {
  it('refuses a caller without a token with a 401 problem', async () => {
    const owner = await h.tenant();
    const res = await call(op, await ownedIds(owner.token));
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
  });

  it.skipIf(!TENANT_IDS.some((id) => op.path.includes(`{${id}}`)))(
    "refuses another tenant's ids as if they did not exist",
    async () => {
      const owner = await h.tenant();
      const intruder = await h.tenant();
      const ids = await ownedIds(owner.token);
      const res = await call(op, ids, intruder.token);
      expect(res.status, await res.clone().text()).toBe(404);
      const ok = await call(op, ids, owner.token);
      expect(ok.status, `the owner can ${op.operationId}: ${await ok.clone().text()}`).toBeLessThan(300);
    },
  );
});

describe('routing', () => {
  it("every route of the gateway fits Hono's RegExpRouter (no request falls back to the slower trie)", () => {
    // Hono's SmartRouter uses the RegExpRouter (one regular expression, no allocation per match)
    // unless a route is ambiguous to it — e.g. a static segment where another route has a
    // parameter with more segments after it — and then routes every request through its
    // TrieRouter instead (~2 KB of garbage and a tree walk per request on the lookup paths).
    const router = new RegExpRouter<string>();
    for (const r of h.system.app.routes) router.add(r.method, r.path, r.path);
    expect(() => router.match('GET', '/healthz')).not.toThrow();
    expect(router.match('POST', '/api/v1/subjects')[0].map(([path]) => path)).toContain('/api/v1/subjects');
  });
});
