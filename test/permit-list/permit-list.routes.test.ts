import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { queryRows, sql } from '../../src/db/client.js';
import { PERMIT_LIST_AUDIT_CHAIN } from '../../src/gateway/system.js';
import { SCOPES } from '../../src/identity/index.js';
import { createHarness } from '../support/harness.js';

const h = await createHarness();
const shipped = JSON.parse(readFileSync('src/permit-list/permit-list.v1.json', 'utf8')) as {
  version: string;
  entries: unknown[];
};
const admin = await h.service(SCOPES.permitListAdmin);

function put(body: unknown, token = admin, operator = '山田 太郎') {
  return h.request('/exchange/v1/permit-list', {
    method: 'PUT',
    token,
    headers: { 'content-type': 'application/json', 'x-operator': encodeURIComponent(operator) },
    body: JSON.stringify(body),
  });
}

describe('the permit list operator API', () => {
  it('shows the shipped list in force with its version', async () => {
    const res = await h.request('/exchange/v1/permit-list', { token: admin });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { version: { version: string; entries: number } };
    expect(body.version.version).toBe(shipped.version);
    expect(body.version.entries).toBe(shipped.entries.length);
  });

  it('replaces the list at run time, naming the operator in the audit log', async () => {
    const next = { ...shipped, version: `${shipped.version}-next`, entries: shipped.entries.slice(1) };
    const res = await put(next);
    expect(res.status, await res.clone().text()).toBe(200);
    const after = (await (await h.request('/exchange/v1/permit-list', { token: admin })).json()) as {
      version: { version: string };
    };
    expect(after.version.version).toBe(next.version);
    expect(h.system.permitList.version()?.entries).toBe(shipped.entries.length - 1);
    const rows = await queryRows<{ action: string; actor_id: string }>(
      h.database.db,
      sql`select action, actor_id from audit.entries where tenant_code = ${PERMIT_LIST_AUDIT_CHAIN} order by seq`,
    );
    expect(rows.map((r) => r.action)).toEqual(['permit-list.load', 'permit-list.replace']);
    expect(rows[1]?.actor_id).toContain(encodeURIComponent('山田 太郎'));
  });

  it('refuses an invalid file and the version already in force, changing nothing', async () => {
    const before = h.system.permitList.version()?.version;
    expect((await put({ version: 'broken', entries: [{ id: 1 }] })).status).toBe(422);
    const same = { ...shipped, version: before };
    expect((await put(same)).status).toBe(409);
    expect(h.system.permitList.version()?.version).toBe(before);
  });

  it('refuses a client without the permit-list scope', async () => {
    const t = await h.tenant();
    expect((await put(shipped, t.token)).status).toBe(403);
  });
});
