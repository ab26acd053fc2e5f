import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { bulkInsert } from '../../src/db/bulk.js';
import { queryRows } from '../../src/db/client.js';
import { copyRows, encodeCopyRows } from '../../src/db/copy.js';
import { openTestDatabase } from '../support/harness.js';

// One database per file; on PostgreSQL when DATABASE_URL is set (CI runs both).
const database = await openTestDatabase();
afterAll(() => database.close());
const db = database.db;
await db.execute(sql`create table if not exists copy_parent (id uuid primary key)`);
await db.execute(
  sql`create table if not exists copy_probe (
        id uuid primary key, parent uuid references copy_parent (id), t text, v varchar(40), b bytea,
        i integer, n bigint, f boolean, d date, at timestamptz, extra smallint)`,
);

const COLUMNS = ['id', 'parent', 't', 'v', 'b', 'i', 'n', 'f', 'd', 'at'] as const;

interface Probe {
  id: string;
  parent: string | null;
  t: string | null;
  v: string | null;
  b: Buffer | null;
  i: number | null;
  n: number | null;
  f: boolean | null;
  d: string | null;
  at: Date | null;
}

const probe = fc.record<Probe>({
  id: fc.uuid().map(() => randomUUID()),
  parent: fc.constant(null),
  t: fc.option(fc.string({ unit: 'grapheme', maxLength: 30 }).map((s) => s.replaceAll('\u0000', ''))),
  v: fc.option(fc.string({ unit: 'grapheme-ascii', maxLength: 40 }).map((s) => s.replaceAll('\u0000', ''))),
  b: fc.option(fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a))),
  i: fc.option(fc.integer()),
  n: fc.option(fc.maxSafeInteger()),
  f: fc.option(fc.boolean()),
  d: fc.option(
    fc
      .date({ min: new Date('1900-01-01'), max: new Date('2199-12-31'), noInvalidDate: true })
      .map((x) => x.toISOString().slice(0, 10)),
  ),
  at: fc.option(fc.date({ min: new Date('1900-01-01'), max: new Date('2199-12-31'), noInvalidDate: true })),
});

async function readBack(ids: string[]): Promise<Probe[]> {
  const rows = await queryRows<Record<string, unknown>>(
    db,
    sql`select id::text, parent::text, t, v, b, i, n::text as n, f, to_char(d, 'YYYY-MM-DD') as d, at
          from copy_probe where id in (select v::uuid from jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb) as x(v))`,
  );
  const byId = new Map(rows.map((r) => [r.id as string, r]));
  return ids.map((id) => {
    const r = byId.get(id) ?? {};
    return {
      id,
      parent: (r.parent as string | null) ?? null,
      t: (r.t as string | null) ?? null,
      v: (r.v as string | null) ?? null,
      b: r.b == null ? null : Buffer.from(r.b as Uint8Array),
      i: (r.i as number | null) ?? null,
      n: r.n == null ? null : Number(r.n),
      f: (r.f as boolean | null) ?? null,
      d: (r.d as string | null) ?? null,
      at: r.at == null ? null : new Date(r.at as string),
    };
  });
}

describe('copyRows', () => {
  it('loads every value as it was given, of each type the stream carries, nulls included', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(probe, { minLength: 1, maxLength: 40 }), async (rows) => {
        expect(await copyRows(db, 'copy_probe', COLUMNS, rows)).toBe(true);
        expect(await readBack(rows.map((r) => r.id))).toEqual(rows);
      }),
      { numRuns: 25 },
    );
  });

  it('refuses rows the table refuses and rolls the transaction back, instead of hanging', async () => {
    const ok = { id: randomUUID(), parent: null };
    const orphan = { id: randomUUID(), parent: randomUUID() };
    await expect(
      db.transaction(async (tx) => {
        await copyRows(tx, 'copy_probe', ['id', 'parent'], [ok]);
        await copyRows(tx, 'copy_probe', ['id', 'parent'], [orphan]);
      }),
    ).rejects.toThrow(/foreign key/);
    // Nothing of the transaction stayed, and the database answers the next statement.
    const [count] = await queryRows<{ n: number }>(
      db,
      sql`select count(*)::int as n from copy_probe where id = ${ok.id}::uuid`,
    );
    expect(count?.n).toBe(0);
  });

  it('answers false, having written nothing, for a column type it cannot carry; bulkInsert then inserts', async () => {
    const id = randomUUID();
    expect(await copyRows(db, 'copy_probe', ['id', 'extra'], [{ id, extra: 7 }])).toBe(false);
    const rows = Array.from({ length: 20 }, () => ({ id: randomUUID(), extra: 7 }));
    await bulkInsert(db, 'copy_probe', { id: 'uuid', extra: 'int' }, rows);
    const [r] = await queryRows<{ n: number; id: number }>(
      db,
      sql`select count(*)::int as n, count(*) filter (where id = ${id}::uuid)::int as id
            from copy_probe where extra = 7 or id = ${id}::uuid`,
    );
    expect(r).toEqual({ n: 20, id: 0 });
  });
});

describe('encodeCopyRows', () => {
  it('names the column, never the value, when a value does not fit its type', () => {
    const cases: [Record<string, 'uuid' | 'date' | 'int' | 'text' | 'bytea'>, object][] = [
      [{ subject_id: 'uuid' }, { subject_id: '123456789012' }],
      [{ valid_from: 'date' }, { valid_from: '2025-02-30' }],
      [{ row_no: 'int' }, { row_no: 1.5 }],
      [{ name: 'text' }, { name: 123456789012 }],
      [{ sealed: 'bytea' }, { sealed: '123456789012' }],
    ];
    for (const [columns, row] of cases) {
      const name = Object.keys(columns)[0] as string;
      expect(() => encodeCopyRows(columns, [row])).toThrow(new RegExp(`column ${name} `));
      expect(() => encodeCopyRows(columns, [row])).not.toThrow(/123456789012|2025-02-30|1\.5/);
    }
  });
});
