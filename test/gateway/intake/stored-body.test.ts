import { sql } from 'drizzle-orm';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { queryRows } from '../../../src/db/client.js';
import { csvFile, csvRow } from '../../fixtures/csv.js';
import { record } from '../../fixtures/records.js';
import { createHarness, drainIntake } from '../../support/harness.js';

// Chunks of 97 bytes (16 to a statement): a small file is stored in many chunks over several
// statements and read back over several pages, with characters cut at chunk edges.
const CHUNK = 97;
const h = await createHarness({ batchSize: 25, uploadChunkBytes: CHUNK });

async function ingest(token: string, body: Uint8Array | string, contentType = 'text/csv') {
  const res = await h.request('/api/v1/linkage-files?fileName=chunks.csv', {
    method: 'POST',
    token,
    headers: { 'content-type': contentType },
    body,
  });
  expect(res.status, await res.clone().text()).toBe(202);
  const { linkageFileId } = (await res.json()) as { linkageFileId: string };
  await drainIntake(h.system);
  const view = (await (
    await h.request(`/api/v1/linkage-files/${linkageFileId}?limit=1000`, { token })
  ).json()) as {
    status: string;
    byteSize: number;
    counts: Record<string, number>;
    rows: { subjectId: string | null }[];
  };
  const [stored] = await queryRows<{ chunks: number; bytes: number }>(
    h.database.db,
    sql`select count(*)::int as chunks, coalesce(sum(length(sealed)), 0)::int as bytes
          from intake.linkage_file_chunks where file_id = ${linkageFileId}`,
  );
  return { view, stored };
}

async function nameOf(token: string, subjectId: string | null | undefined): Promise<string> {
  const res = await h.request(`/api/v1/subjects/${subjectId}`, { token });
  return ((await res.json()) as { basicFiveInfo: { name: string } }).basicFiveInfo.name;
}

describe('the stored body of a linkage file', () => {
  it('comes back whole from many small chunks, CP932 characters cut at their edges included', async () => {
    const t = await h.tenant();
    const names = ['髙橋 ①郎', '齋藤 花子', '渡邊 ｶﾅ太郎'];
    const rows = Array.from({ length: 60 }, (_, i) =>
      csvRow(record({ basicFiveInfo: { ...record().basicFiveInfo, name: names[i % 3] as string } })),
    );
    const bytes = iconv.encode(csvFile(rows), 'cp932');
    const { view, stored } = await ingest(t.token, bytes, 'text/csv; charset=Shift_JIS');
    expect(view.status).toBe('completed');
    expect(view.byteSize).toBe(bytes.length);
    expect(view.counts).toMatchObject({ created: 60, rejected: 0 });
    // Each chunk sealed on its own: 29 bytes of envelope (version, IV, tag) per chunk.
    expect(stored?.chunks).toBe(Math.ceil(bytes.length / CHUNK));
    expect(stored?.bytes).toBe(bytes.length + 29 * Math.ceil(bytes.length / CHUNK));
    for (const i of [0, 1, 2, 58, 59]) {
      expect(await nameOf(t.token, view.rows[i]?.subjectId)).toBe(names[i % 3]);
    }
  });

  it('reads a UTF-8 body (BOM, 3-byte characters cut at chunk edges) the same way', async () => {
    const t = await h.tenant();
    const rows = Array.from({ length: 40 }, () =>
      csvRow(record({ basicFiveInfo: { ...record().basicFiveInfo, name: '髙橋 ①郎' } })),
    );
    const { view, stored } = await ingest(t.token, `\uFEFF${csvFile(rows)}`);
    expect(view.counts).toMatchObject({ created: 40, rejected: 0 });
    expect(stored?.chunks).toBeGreaterThan(16 * 3);
    expect(await nameOf(t.token, view.rows[39]?.subjectId)).toBe('髙橋 ①郎');
  });
});
