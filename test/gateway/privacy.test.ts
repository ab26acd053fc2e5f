import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { openDatabase, queryRows, sql } from '../../src/db/client.js';
import { createLogger } from '../../src/gateway/http/logger.js';
import { buildSystem } from '../../src/gateway/system.js';
import { createClient } from '../../src/identity/index.js';
import { ensureTenant } from '../../src/pmh/index.js';
import { csvFile, csvRow } from '../fixtures/csv.js';
import { record } from '../fixtures/records.js';
import { createHarness, drainIntake, drainNumbering } from '../support/harness.js';

const h = await createHarness();
const TWELVE = /(?<![0-9])[0-9]{12}(?![0-9])/;

async function everyRowAsText(db = h.database.db): Promise<string> {
  const tables = await queryRows<{ s: string; t: string }>(
    db,
    sql`select table_schema as s, table_name as t from information_schema.tables
        where table_schema not in ('pg_catalog', 'information_schema') and table_type = 'BASE TABLE'`,
  );
  // Every schema of the product: the hub's, the gateway's, and the intermediate servers'.
  expect(new Set(tables.map((t) => t.s))).toEqual(
    new Set(['hub', 'intake', 'outbox', 'audit', 'identity', 'keys', 'insurer', 'agency', 'drizzle']),
  );
  const parts: string[] = [];
  for (const { s, t } of tables) {
    const rows = await queryRows<{ j: string }>(
      db,
      sql.raw(`select row_to_json(x)::text as j from "${s}"."${t}" x`),
    );
    parts.push(...rows.map((r) => r.j));
  }
  return parts.join('\n');
}

describe('個人番号 in clear', () => {
  it('is in no table after JSON and CSV registration, numbering, updates and reads', async () => {
    const t = await h.tenant();
    const json = [record(), record()];
    const csv = [record(), record()];
    // The insurer server holds the people, so numbering writes its tables too.
    await h.system.insurer.load(
      [...json, ...csv].map((r, i) => ({
        myNumber: r.myNumber,
        basicFiveInfo: r.basicFiveInfo,
        bindingNumber: `P${randomBytes(4).toString('hex')}${i}`,
        insurerNumber: '06130001',
      })),
    );
    await h.request('/api/v1/subjects', {
      method: 'POST',
      token: t.token,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(json),
    });
    const up = await h.request('/api/v1/linkage-files', {
      method: 'POST',
      token: t.token,
      headers: { 'content-type': 'text/csv; charset=shift_jis' },
      body: iconv.encode(csvFile([...csv.map(csvRow), csvRow(record({ validFrom: 'H31.5.1' }))]), 'cp932'),
    });
    expect(up.status).toBe(202);
    await drainIntake(h.system);
    await drainNumbering(h.system);
    const numbered = await queryRows<{ n: number }>(
      h.database.db,
      sql`select count(*)::int as n from hub.subjects where tenant_code = ${t.municipalityCode} and pmh_id is not null`,
    );
    expect(numbered[0]?.n, 'the subjects were numbered').toBe(4);
    const all = await everyRowAsText();
    for (const r of [...json, ...csv]) {
      expect(all.includes(r.myNumber), 'a registered 個人番号 is stored in clear').toBe(false);
      expect(all.includes(r.basicFiveInfo?.nameKana ?? '-'), 'basic info is stored in clear').toBe(false);
    }
  });

  it('is in no log line or error body on the error paths', async () => {
    const t = await h.tenant();
    const bad = record({ myNumber: '123456789012', validFrom: 'nonsense' });
    const res = await h.request('/api/v1/subjects', {
      method: 'POST',
      token: t.token,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([bad]),
    });
    expect(await res.text()).not.toContain(bad.myNumber);
    const broken = `${csvFile([csvRow(record())])}"${bad.myNumber},unterminated\r\n`;
    const up = await h.request('/api/v1/linkage-files', {
      method: 'POST',
      token: t.token,
      headers: { 'content-type': 'text/csv' },
      body: broken,
    });
    const { linkageFileId } = (await up.json()) as { linkageFileId: string };
    await drainIntake(h.system);
    const view = await (
      await h.request(`/api/v1/linkage-files/${linkageFileId}?limit=100`, { token: t.token })
    ).text();
    expect(view).toContain('csv-unterminated-quote');
    expect(view).not.toContain(bad.myNumber);
    expect(h.logs.length).toBeGreaterThan(0);
    expect(h.logs.join('')).not.toMatch(TWELVE);
  });

  it('is in no log line when the database fails mid-request', async () => {
    const database = await openDatabase({ memory: true });
    const lines: string[] = [];
    const logger = createLogger(
      'debug',
      new Writable({
        write: (c, _e, cb) => {
          lines.push(String(c));
          cb();
        },
      }),
    );
    const system = await buildSystem({ database, masterKey: randomBytes(32), logger });
    await ensureTenant(database.db, '130001', '東京都');
    const { token } = await createClient(database.db, {
      name: 't',
      tenantCode: '130001',
      businessId: 'b',
      scopes: ['register'],
    });
    await queryRows(database.db, sql`alter table hub.entitlements rename to entitlements_gone`);
    const r = record();
    const res = await system.app.request('/api/v1/subjects', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify([r]),
    });
    expect(res.status).toBe(500);
    const body = await res.text();
    expect(body).toContain('internal-error');
    expect(body).not.toContain(r.myNumber);
    expect(lines.join('')).toContain('unhandled error');
    expect(lines.join('')).not.toMatch(TWELVE);
    await database.close();
  });

  it('is in no file under DATA_DIR with file-backed PGlite', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'pmh-data-'));
    try {
      const database = await openDatabase({ dataDir: path.join(dir, 'pglite') });
      const system = await buildSystem({
        database,
        masterKey: randomBytes(32),
        logger: createLogger('silent'),
      });
      await ensureTenant(database.db, '130001', '東京都');
      const { token } = await createClient(database.db, {
        name: 't',
        tenantCode: '130001',
        businessId: 'b',
        scopes: ['register'],
      });
      const records = Array.from({ length: 30 }, () => record());
      await system.app.request('/api/v1/subjects', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(records.slice(0, 15)),
      });
      await system.app.request('/api/v1/linkage-files', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' },
        body: csvFile(records.slice(15).map(csvRow)),
      });
      await drainIntake(system);
      await database.close();
      const files: string[] = [];
      const walk = (d: string) => {
        for (const name of readdirSync(d)) {
          const p = path.join(d, name);
          if (statSync(p).isDirectory()) walk(p);
          else files.push(p);
        }
      };
      walk(dir);
      expect(files.length).toBeGreaterThan(10);
      for (const f of files) {
        const content = readFileSync(f).toString('latin1');
        for (const r of records) expect(content.includes(r.myNumber), `clear 個人番号 in ${f}`).toBe(false);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
