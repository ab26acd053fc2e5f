import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createHarness, drainIntake } from '../support/harness.js';

const h = await createHarness();

describe('docs/examples/linkage-file.csv', () => {
  it('is accepted as documented: two registrations and a deletion of an unknown entitlement', async () => {
    const t = await h.tenant();
    const up = await h.request('/api/v1/linkage-files?fileName=example.csv', {
      method: 'POST',
      token: t.token,
      headers: { 'content-type': 'text/csv; charset=utf-8' },
      body: readFileSync('docs/examples/linkage-file.csv'),
    });
    expect(up.status, await up.clone().text()).toBe(202);
    const { linkageFileId } = (await up.json()) as { linkageFileId: string };
    await drainIntake(h.system);
    const view = (await (
      await h.request(`/api/v1/linkage-files/${linkageFileId}`, { token: t.token })
    ).json()) as {
      rows: { outcome: string; errors?: unknown }[];
    };
    expect(
      view.rows.map((r) => r.outcome),
      JSON.stringify(view.rows),
    ).toEqual(['created', 'created', 'not-found']);
  });
});
