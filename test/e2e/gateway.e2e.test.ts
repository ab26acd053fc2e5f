import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import iconv from 'iconv-lite';
import { afterAll, describe, expect, it } from 'vitest';
import { csvFile, csvRow } from '../fixtures/csv.js';
import { record } from '../fixtures/records.js';
import { startServer } from './server.js';

const dir = await mkdtemp(path.join(tmpdir(), 'pmh-e2e-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe.skipIf(Boolean(process.env.DATABASE_URL))('the gateway as its own process on PGlite', () => {
  it('starts, answers health, docs and a CP932 linkage file, keeps demo tokens across a restart, and refuses a second process on its data', async () => {
    const env = { DATA_DIR: dir };
    const server = await startServer(env);
    try {
      expect(server.output()).toContain('/docs');
      expect(server.output()).toContain('(new: back it up');
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      expect(await (await fetch(`${server.url}/docs`)).text()).toContain('openapi.json');
      const token = server.token();
      const rows = Array.from({ length: 50 }, () => csvRow(record()));
      rows[7] = csvRow(record({ myNumber: '123456789012' }));
      const up = await fetch(`${server.url}/api/v1/linkage-files?fileName=renkei.csv`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' },
        body: iconv.encode(csvFile(rows), 'cp932'),
      });
      expect(up.status).toBe(202);
      const { linkageFileId } = (await up.json()) as { linkageFileId: string };
      let view: { status: string; counts: Record<string, number> } = { status: '', counts: {} };
      for (let i = 0; i < 100 && view.status !== 'completed'; i++) {
        await new Promise((r) => setTimeout(r, 200));
        view = (await (
          await fetch(`${server.url}/api/v1/linkage-files/${linkageFileId}?limit=0`, {
            headers: { authorization: `Bearer ${token}` },
          })
        ).json()) as typeof view;
      }
      expect(view).toMatchObject({ status: 'completed', counts: { created: 49, rejected: 1 } });
    } finally {
      expect(await server.stop()).toBe(0);
    }
    const again = await startServer(env);
    try {
      const token = again.token();
      const res = await fetch(`${again.url}/api/v1/linkage-files/00000000-0000-4000-8000-000000000000`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status, 'the demo token still authenticates after a restart').toBe(404);
      expect(again.output()).toContain('(the data, keys and tokens of earlier starts are kept)');
      await expect(startServer(env), 'a second process on the same folder').rejects.toThrow(
        /The data folder .* is in use by another process: process \d+ holds /,
      );
    } finally {
      await again.stop();
    }
  });
});
