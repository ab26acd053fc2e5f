import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { csvFile, csvRow } from '../fixtures/csv.js';
import { myNumber, record } from '../fixtures/records.js';
import { startServer } from './server.js';

const url = process.env.DATABASE_URL;
const ROWS = 6000;
const BAD = new Set([17, 2500, 5999]);

describe('a gateway killed with SIGKILL mid-file', () => {
  it.skipIf(!url)(
    'resumes from the cursor with exactly one outcome and one audit entry per row (PostgreSQL only: file-backed PGlite is not safe after an unclean exit)',
    async () => {
      const name = `crash_${randomBytes(5).toString('hex')}`;
      const admin = postgres(url as string, { max: 1, onnotice: () => {} });
      await admin.unsafe(`create database ${name}`);
      const target = new URL(url as string);
      target.pathname = `/${name}`;
      const db = postgres(target.toString(), { max: 2, onnotice: () => {} });
      const dir = await mkdtemp(path.join(tmpdir(), 'pmh-crash-'));
      afterAll(async () => {
        await db.end();
        await admin.unsafe(`drop database if exists ${name} with (force)`);
        await admin.end();
        await rm(dir, { recursive: true, force: true });
      });
      const env = {
        DATA_DIR: dir,
        DATABASE_URL: target.toString(),
        INTAKE_BATCH_SIZE: '250',
        INTAKE_LEASE_MS: '1000',
      };

      const first = await startServer(env);
      const token = first.token();
      // Distinct 個人番号: two equal random ones (about once in 5,000 runs) would be a duplicate key.
      const numbers = new Set<string>();
      while (numbers.size < ROWS) numbers.add(myNumber());
      const distinct = [...numbers];
      const rows = Array.from({ length: ROWS }, (_, i) =>
        csvRow(record({ myNumber: BAD.has(i + 1) ? '000000000001' : distinct[i] })),
      );
      const up = await fetch(`${first.url}/api/v1/linkage-files?fileName=crash.csv`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' },
        body: csvFile(rows),
      });
      expect(up.status).toBe(202);
      const { linkageFileId } = (await up.json()) as { linkageFileId: string };

      let killedAt = 0;
      for (let i = 0; i < 3000; i++) {
        const [f] = await db<
          { cursor_row: number }[]
        >`select cursor_row from intake.linkage_files where id = ${linkageFileId}`;
        if (f && f.cursor_row > 0) {
          first.child.kill('SIGKILL');
          killedAt = f.cursor_row;
          break;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      await first.stop('SIGKILL');
      expect(killedAt, 'the kill landed after the first batch').toBeGreaterThan(0);
      const [atKill] = await db<
        { cursor_row: number }[]
      >`select cursor_row from intake.linkage_files where id = ${linkageFileId}`;
      expect(atKill?.cursor_row, 'the kill landed before the last batch').toBeLessThan(ROWS);

      const second = await startServer(env);
      try {
        let status = '';
        for (let i = 0; i < 600 && status !== 'completed'; i++) {
          await new Promise((r) => setTimeout(r, 200));
          const [f] = await db<
            { status: string }[]
          >`select status from intake.linkage_files where id = ${linkageFileId}`;
          status = f?.status ?? '';
        }
        expect(status).toBe('completed');
      } finally {
        await second.stop();
      }

      const [file] = await db<
        {
          resume_count: number;
          last_resumed_from: number;
          total_rows: number;
          rejected: number;
          created: number;
        }[]
      >`select resume_count, last_resumed_from, total_rows, rejected, created from intake.linkage_files where id = ${linkageFileId}`;
      expect(file?.resume_count).toBe(1);
      expect(file?.last_resumed_from, 'resumed from the committed cursor, not from the start').toBe(
        atKill?.cursor_row,
      );
      const rejected = await db<{ row_no: number; errors: string | null }[]>`
        select row_no, errors from intake.linkage_file_rows
         where file_id = ${linkageFileId} and outcome = 'rejected' order by row_no`;
      expect(
        file,
        `rejected rows (killed at ${atKill?.cursor_row}): ${JSON.stringify(rejected)}`,
      ).toMatchObject({ total_rows: ROWS, rejected: BAD.size, created: ROWS - BAD.size });

      const [outcomes] = await db<{ n: number; distinct_rows: number }[]>`
        select count(*)::int as n, count(distinct row_no)::int as distinct_rows from intake.linkage_file_rows where file_id = ${linkageFileId}`;
      expect(outcomes).toEqual({ n: ROWS, distinct_rows: ROWS });

      const perRow = await db<{ ref: string; n: number }[]>`
        select (detail::json ->> 'ref') as ref, count(*)::int as n from audit.entries
         where detail::json ->> 'ref' like ${`linkage-file:${linkageFileId}:row:%`}
         group by 1 having count(*) <> 1`;
      expect(perRow, 'no row has more or less than one audit entry').toEqual([]);
      const [audited] = await db<{ n: number }[]>`
        select count(distinct detail::json ->> 'ref')::int as n from audit.entries
         where detail::json ->> 'ref' like ${`linkage-file:${linkageFileId}:row:%`}`;
      expect(audited?.n).toBe(ROWS);

      const [subjects] = await db<{ n: number }[]>`select count(*)::int as n from hub.subjects`;
      expect(subjects?.n, 'no subject was registered twice').toBe(ROWS - BAD.size);
    },
  );
});
