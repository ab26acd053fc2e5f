import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/audit/index.js';
import { csvFile, csvRow, TEST_COLUMNS } from '../fixtures/csv.js';
import { record } from '../fixtures/records.js';
import { createHarness, drainIntake } from '../support/harness.js';

const h = await createHarness({ batchSize: 7 });

interface FileView {
  linkageFileId: string;
  status: string;
  encoding: string;
  totalRows: number;
  counts: Record<string, number>;
  rows: {
    rowNo: number;
    line: number;
    outcome: string;
    subjectId: string | null;
    errors?: { pointer: string; code: string }[];
  }[];
  nextAfter: number | null;
}

async function upload(
  token: string,
  body: string | Uint8Array,
  contentType = 'text/csv',
  fileName = 'renkei.csv',
) {
  return h.request(`/api/v1/linkage-files?fileName=${encodeURIComponent(fileName)}`, {
    method: 'POST',
    token,
    headers: { 'content-type': contentType },
    body,
  });
}

async function processed(token: string, res: Response, query = 'limit=1000'): Promise<FileView> {
  expect(res.status, await res.clone().text()).toBe(202);
  const { linkageFileId } = (await res.json()) as FileView;
  await drainIntake(h.system);
  const view = await h.request(`/api/v1/linkage-files/${linkageFileId}?${query}`, { token });
  expect(view.status).toBe(200);
  return (await view.json()) as FileView;
}

describe('uploadLinkageFile', () => {
  it('processes a UTF-8 file with one outcome per row and the bad rows rejected with codes', async () => {
    const t = await h.tenant();
    const good = Array.from({ length: 20 }, () => record());
    good[4] = record({ myNumber: '123456789012' });
    const rows = good.map(csvRow);
    rows[11] = csvRow(record({ validFrom: 'S64.1.8' }));
    const view = await processed(t.token, await upload(t.token, csvFile(rows)));
    expect(view.status).toBe('completed');
    expect(view.totalRows).toBe(20);
    expect(view.counts).toMatchObject({ created: 18, rejected: 2 });
    expect(view.rows).toHaveLength(20);
    expect(view.rows[4]).toMatchObject({
      rowNo: 5,
      line: 6,
      outcome: 'rejected',
      errors: [{ pointer: '/myNumber', code: 'my-number-check-digit' }],
    });
    expect(view.rows[11]?.errors).toEqual([{ pointer: '/validFrom', code: 'outside-era' }]);
    for (const r of good) expect(JSON.stringify(view)).not.toContain(r.myNumber);
    const audit = await verifyAuditChain(h.database.db, t.municipalityCode);
    expect(audit, 'one audit entry per row, plus one for the upload').toEqual({ ok: true, entries: 21 });
  });

  it('detects CP932 without a charset and reads the same rows', async () => {
    const t = await h.tenant();
    const rows = Array.from({ length: 5 }, () =>
      csvRow(record({ basicFiveInfo: { ...record().basicFiveInfo, name: '髙橋 ①郎' } })),
    );
    const bytes = iconv.encode(csvFile(rows), 'cp932');
    const view = await processed(t.token, await upload(t.token, bytes));
    expect(view.encoding).toBe('shift_jis');
    expect(view.counts.created).toBe(5);
    const subject = (await (
      await h.request(`/api/v1/subjects/${view.rows[0]?.subjectId}`, { token: t.token })
    ).json()) as {
      basicFiveInfo: { name: string };
    };
    expect(subject.basicFiveInfo.name).toBe('髙橋 ①郎');
  });

  it('honours charset=Shift_JIS, a UTF-8 BOM and LF line ends', async () => {
    const t = await h.tenant();
    const sjis = await processed(
      t.token,
      await upload(
        t.token,
        iconv.encode(csvFile([csvRow(record())], '\n'), 'cp932'),
        'text/csv; charset=Shift_JIS',
      ),
    );
    expect(sjis).toMatchObject({ encoding: 'shift_jis', counts: { created: 1 } });
    const bom = await processed(t.token, await upload(t.token, `\uFEFF${csvFile([csvRow(record())])}`));
    expect(bom).toMatchObject({ encoding: 'utf-8', counts: { created: 1 } });
  });

  it('rejects a key repeated inside one file on its later row', async () => {
    const t = await h.tenant();
    const r = record();
    const rows = [
      csvRow(r),
      ...Array.from({ length: 9 }, () => csvRow(record())),
      csvRow({ ...r, incomeSegment: '低所得1' }),
    ];
    const view = await processed(t.token, await upload(t.token, csvFile(rows)));
    expect(view.rows[0]?.outcome).toBe('created');
    expect(view.rows[10]).toMatchObject({ outcome: 'rejected', errors: [{ code: 'duplicate-key-in-file' }] });
  });

  it('makes a new linkage file whose rows come out unchanged when the same file is uploaded again', async () => {
    const t = await h.tenant();
    const body = csvFile(Array.from({ length: 9 }, () => csvRow(record())));
    const first = await processed(t.token, await upload(t.token, body));
    const second = await processed(t.token, await upload(t.token, body));
    expect(second.linkageFileId).not.toBe(first.linkageFileId);
    expect(second.counts).toMatchObject({ unchanged: 9, created: 0 });
    expect(second.rows.map((r) => r.subjectId)).toEqual(first.rows.map((r) => r.subjectId));
  });

  it('reports rows that do not parse and goes on with the next', async () => {
    const t = await h.tenant();
    const header = TEST_COLUMNS.join(',');
    const ok = csvFile([csvRow(record())]).split('\r\n')[1];
    const text = `${header}\r\n${ok}\r\n1,2,3\r\n${csvFile([csvRow(record())]).split('\r\n')[1]}\r\n`;
    const view = await processed(t.token, await upload(t.token, text));
    expect(view.rows.map((r) => r.outcome)).toEqual(['created', 'rejected', 'created']);
    expect(view.rows[1]?.errors).toEqual([{ pointer: '', code: 'csv-column-count' }]);
  });

  it('refuses a file whose header names unknown columns, storing nothing', async () => {
    const t = await h.tenant();
    const res = await upload(t.token, 'modificationSeg,myNumber,shoeSize\r\n1,2,3\r\n');
    expect(res.status).toBe(422);
    const body = (await res.json()) as { errors: { pointer: string; code: string }[] };
    expect(body.errors).toContainEqual({ index: 2, pointer: '/header/2', code: 'unknown-field' });
    expect(body.errors).toContainEqual({ pointer: '/header/orgSpecificCertificateTypeId', code: 'required' });
  });

  it('refuses other media types and charsets', async () => {
    const t = await h.tenant();
    expect((await upload(t.token, 'a', 'application/json')).status).toBe(415);
    expect((await upload(t.token, 'a', 'text/csv; charset=euc-jp')).status).toBe(415);
  });

  it('pages through row outcomes and filters the rejected ones', async () => {
    const t = await h.tenant();
    const rows = Array.from({ length: 15 }, () => csvRow(record()));
    rows[3] = csvRow(record({ myNumber: '000000000001' }));
    rows[13] = csvRow(record({ myNumber: '000000000002' }));
    const view = await processed(t.token, await upload(t.token, csvFile(rows)), 'limit=10');
    expect(view.rows).toHaveLength(10);
    expect(view.nextAfter).toBe(10);
    const rest = (await (
      await h.request(`/api/v1/linkage-files/${view.linkageFileId}?after=10&limit=10`, { token: t.token })
    ).json()) as FileView;
    expect(rest.rows.map((r) => r.rowNo)).toEqual([11, 12, 13, 14, 15]);
    expect(rest.nextAfter).toBeNull();
    const rejected = (await (
      await h.request(`/api/v1/linkage-files/${view.linkageFileId}?outcome=rejected`, { token: t.token })
    ).json()) as FileView;
    expect(rejected.rows.map((r) => r.rowNo)).toEqual([4, 14]);
  });

  it('does not show a linkage file to another tenant', async () => {
    const t = await h.tenant();
    const other = await h.tenant();
    const res = await upload(t.token, csvFile([csvRow(record())]));
    const { linkageFileId } = (await res.json()) as FileView;
    expect((await h.request(`/api/v1/linkage-files/${linkageFileId}`, { token: other.token })).status).toBe(
      404,
    );
  });
});
