import { Validator } from '@seriousme/openapi-schema-validator';
import { RegExpRouter } from 'hono/router/reg-exp-router';
import { describe, expect, it } from 'vitest';
import { type Operation, operationsOf, ownedIds, SAMPLES } from '../fixtures/operations.js';
import { createHarness } from '../support/harness.js';

const h = await createHarness();

const doc: unknown = await (await h.request('/openapi.json')).json();
const operations = operationsOf(doc);

/** Path parameters that name a tenant's own resource (service operations have none). */
const TENANT_IDS = ['subjectId', 'entitlementId', 'linkageFileId'];

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
    const res = await call(op, await ownedIds(h, owner.token));
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
  });

  it.skipIf(!TENANT_IDS.some((id) => op.path.includes(`{${id}}`)))(
    "refuses another tenant's ids as if they did not exist",
    async () => {
      const owner = await h.tenant();
      const intruder = await h.tenant();
      const ids = await ownedIds(h, owner.token);
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
