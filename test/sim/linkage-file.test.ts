import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCsvParser } from '../../src/gateway/intake/csv.js';
import { checkHeader, rowToRecord } from '../../src/gateway/intake/linkage-columns.js';
import { registrationRecordSchema } from '../../src/pmh/pmh.schemas.js';
import { planBadRows, writeLinkageFile } from '../../src/sim/case-system/linkage-file.js';
import { CORRUPTION_KINDS, toCsvHeader } from '../../src/sim/population/index.js';
import { toFieldErrors } from '../../src/validation/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sim-linkage-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Parses a decoded file into its header and data rows (asserting no CSV errors). */
function parse(text: string) {
  const parser = createCsvParser();
  const records = [...parser.push(text), ...parser.end()];
  for (const r of records) expect(r.error).toBeUndefined();
  const [header, ...rows] = records.map((r) => r.fields);
  return { header, rows };
}

/** The 1-based numbers of the rows the schema rejects, with their codes. */
function rejectedRows(header: string[], rows: string[][]) {
  const checked = checkHeader(header);
  if ('errors' in checked) throw new Error('bad header');
  const out: { rowNo: number; codes: string[] }[] = [];
  rows.forEach((fields, k) => {
    const { record, errors } = rowToRecord(checked, fields);
    const parsed = registrationRecordSchema.safeParse(record);
    const codes = [...errors, ...(parsed.success ? [] : toFieldErrors(parsed.error.issues, false))].map(
      (e) => e.code,
    );
    if (codes.length) out.push({ rowNo: k + 1, codes });
  });
  return out;
}

describe('writeLinkageFile', () => {
  it('writes 2,000 CP932 rows that decode as Shift_JIS with the header, and plants the bad rows', async () => {
    const file = path.join(dir, 'cp932.csv');
    const result = await writeLinkageFile({
      path: file,
      subjects: 2000,
      seed: 1,
      encoding: 'shift_jis',
      bad: 5,
    });
    const bytes = await readFile(file);
    expect(result.bytes).toBe(bytes.byteLength);
    expect(result.rows).toBe(2000);
    expect(result.badRowNos).toHaveLength(5);

    const text = new TextDecoder('shift_jis', { fatal: true }).decode(bytes);
    expect(text).toContain('東京都');
    expect(text.endsWith('\r\n')).toBe(true);
    expect(text.split('\r\n')).toHaveLength(2002); // header + rows + the empty string after the last CRLF
    const { header, rows } = parse(text);
    expect(header).toEqual(toCsvHeader());
    expect(rows).toHaveLength(2000);
    expect(rejectedRows(header as string[], rows)).toEqual(
      result.badRows.map((b) => ({ rowNo: b.rowNo, codes: [b.kind] })),
    );
  });

  it('writes 2,000 UTF-8 rows with LF line ends and 和暦 dates, every row valid when no bad rows are asked', async () => {
    const file = path.join(dir, 'utf8.csv');
    const result = await writeLinkageFile({
      path: file,
      subjects: 2000,
      seed: 'utf',
      encoding: 'utf-8',
      eraDates: true,
      lineEnding: '\n',
    });
    expect(result.badRowNos).toEqual([]);
    const text = new TextDecoder('utf-8', { fatal: true }).decode(await readFile(file));
    expect(text).not.toContain('\r');
    const { header, rows } = parse(text);
    expect(header).toEqual(toCsvHeader());
    expect(rows).toHaveLength(2000);
    expect(rejectedRows(header as string[], rows)).toEqual([]);
  });

  it('writes the same bytes for the same options whatever the chunk size', async () => {
    const a = path.join(dir, 'a.csv');
    const b = path.join(dir, 'b.csv');
    await writeLinkageFile({ path: a, subjects: 500, seed: 3, encoding: 'shift_jis', bad: 7 });
    await writeLinkageFile({ path: b, subjects: 500, seed: 3, encoding: 'shift_jis', bad: 7, chunkRows: 33 });
    expect(Buffer.compare(await readFile(a), await readFile(b))).toBe(0);
  });

  it('writes entitlements for the fiscal year of its reference date, the same file for any date of it', async () => {
    const a = path.join(dir, 'fy-a.csv');
    const b = path.join(dir, 'fy-b.csv');
    await writeLinkageFile({
      path: a,
      subjects: 100,
      seed: 1,
      encoding: 'utf-8',
      referenceDate: '2027-05-01',
    });
    await writeLinkageFile({
      path: b,
      subjects: 100,
      seed: 1,
      encoding: 'utf-8',
      referenceDate: '2028-03-31',
    });
    expect(Buffer.compare(await readFile(a), await readFile(b))).toBe(0);
    const { header, rows } = parse(await readFile(a, 'utf8'));
    const from = (header as string[]).indexOf('validFrom');
    const to = (header as string[]).indexOf('validTo');
    expect(rows).toHaveLength(100);
    expect(new Set(rows.map((r) => `${r[from]}〜${r[to]}`))).toEqual(new Set(['2027-04-01〜2028-03-31']));
    await expect(
      writeLinkageFile({ path: a, subjects: 1, seed: 1, encoding: 'utf-8', referenceDate: 'today' }),
    ).rejects.toThrow(RangeError);
  });

  it('refuses more bad rows than rows', async () => {
    await expect(
      writeLinkageFile({ path: path.join(dir, 'x.csv'), subjects: 3, seed: 1, encoding: 'utf-8', bad: 4 }),
    ).rejects.toThrow(RangeError);
  });
});

describe('planBadRows', () => {
  it('places distinct rows deterministically from the seed and cycles through the kinds', () => {
    const plan = planBadRows(1, 100_000, 12);
    expect(planBadRows(1, 100_000, 12)).toEqual(plan);
    expect(planBadRows(2, 100_000, 12)).not.toEqual(plan);
    const rows = plan.map((p) => p.rowNo);
    expect(new Set(rows).size).toBe(12);
    expect(rows).toEqual([...rows].sort((x, y) => x - y));
    for (const r of rows) expect(r >= 1 && r <= 100_000).toBe(true);
    expect(plan.slice(0, 5).map((p) => p.kind)).toEqual([...CORRUPTION_KINDS]);
  });

  it('can mark every row bad', () => {
    expect(planBadRows('x', 6, 6).map((p) => p.rowNo)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
