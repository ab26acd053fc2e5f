import { randomUUID } from 'node:crypto';
import { and, eq, type SQLWrapper, sql } from 'drizzle-orm';
import { customType, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { arrayLiteral, bulkInsert, bulkUpdate, findEachByKey, inList, keysWhere } from '../../src/db/bulk.js';
import { queryRows } from '../../src/db/client.js';
import { openTestDatabase } from '../support/harness.js';

const database = await openTestDatabase();
afterAll(() => database.close());
const db = database.db;
await db.execute(
  sql`create table if not exists bulk_probe (id uuid primary key, code text not null, key bytea not null)`,
);

/** Keys are unique by content (fast-check's uniqueArray compares arrays by reference). */
const hex = (k: Uint8Array) => Buffer.from(k).toString('hex');

const bytea = customType<{ data: Buffer }>({ dataType: () => 'bytea' });
const probe = pgTable('bulk_probe', {
  id: uuid('id').primaryKey(),
  code: text('code').notNull(),
  key: bytea('key').notNull(),
});

/** Empties bulk_probe and fills it with `n` rows, each 'kept' or 'open' by its index. */
async function freshProbeRows(n: number, kept: (i: number) => boolean) {
  await db.execute(sql`delete from bulk_probe`);
  const rows = Array.from({ length: n }, (_, i) => ({
    id: randomUUID(),
    code: kept(i) ? 'kept' : 'open',
    key: Buffer.from([i]),
  }));
  await bulkInsert(db, 'bulk_probe', { id: 'uuid', code: 'text', key: 'bytea' }, rows);
  return rows;
}

describe('inList', () => {
  it('finds exactly the listed rows, by uuid, text or bytea, and nothing for an empty list', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.uint8Array({ minLength: 1, maxLength: 24 }), {
          selector: hex,
          minLength: 1,
          maxLength: 30,
        }),
        async (keys) => {
          await db.execute(sql`delete from bulk_probe`);
          const rows = keys.map((k, i) => ({ id: randomUUID(), code: `c'${i}"`, key: Buffer.from(k) }));
          await bulkInsert(db, 'bulk_probe', { id: 'uuid', code: 'text', key: 'bytea' }, rows);
          const some = rows.filter((_, i) => i % 2 === 0);
          const ids = async (
            column: SQLWrapper,
            values: (string | Buffer)[],
            type: 'uuid' | 'text' | 'bytea',
          ) =>
            (
              await db
                .select({ id: probe.id })
                .from(probe)
                .where(inList(column, values, type))
            )
              .map((r) => r.id)
              .sort();
          const byKey = await ids(
            probe.key,
            some.map((r) => r.key),
            'bytea',
          );
          const byId = await ids(
            probe.id,
            some.map((r) => r.id),
            'uuid',
          );
          const byCode = await ids(
            probe.code,
            some.map((r) => r.code),
            'text',
          );
          const want = some.map((r) => r.id).sort();
          expect(byKey).toEqual(want);
          expect(byId).toEqual(want);
          expect(byCode).toEqual(want);
        },
      ),
      { numRuns: 15 },
    );
    const none = await queryRows(db, sql`select 1 from bulk_probe where ${inList(probe.id, [], 'uuid')}`);
    expect(none).toEqual([]);
  });
});

describe('findEachByKey', () => {
  it("returns the rows of the listed keys once each, all of a key's rows when asked for many, and honours the extra condition", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.uint8Array({ minLength: 1, maxLength: 24 }), {
          selector: hex,
          minLength: 1,
          maxLength: 30,
        }),
        fc.uniqueArray(fc.uint8Array({ minLength: 25, maxLength: 32 }), { selector: hex, maxLength: 5 }),
        async (keys, strangers) => {
          await db.execute(sql`delete from bulk_probe`);
          const rows = keys.map((k, i) => ({ id: randomUUID(), code: `c'${i % 3}"`, key: Buffer.from(k) }));
          await bulkInsert(db, 'bulk_probe', { id: 'uuid', code: 'text', key: 'bytea' }, rows);
          const asked = [
            ...rows.filter((_, i) => i % 2 === 0).map((r) => r.key),
            ...strangers.map((k) => Buffer.from(k)),
            ...rows.filter((_, i) => i % 4 === 0).map((r) => Buffer.from(r.key)),
          ];
          const found = await findEachByKey(db, probe, asked, 'bytea', (k) => eq(probe.key, k));
          const plain = (r: { id: string; code: string; key: Uint8Array }) =>
            `${r.id} ${r.code} ${Buffer.from(r.key).toString('hex')}`;
          expect(found.map(plain).sort()).toEqual(
            rows
              .filter((_, i) => i % 2 === 0)
              .map(plain)
              .sort(),
          );
          const ofCode = await findEachByKey(
            db,
            probe,
            rows.map((r) => r.id),
            'uuid',
            (k) => and(eq(probe.id, k), eq(probe.code, `c'0"`)),
          );
          const byCode = await findEachByKey(
            db,
            probe,
            [`c'1"`, `c'2"`, `c'1"`],
            'text',
            (k) => eq(probe.code, k),
            { perKey: 'many', fields: ['id'] },
          );
          expect(byCode.every((r) => Object.keys(r).join() === 'id')).toBe(true);
          expect(byCode.map((r) => r.id).sort()).toEqual(
            rows
              .filter((_, i) => i % 3 !== 0)
              .map((r) => r.id)
              .sort(),
          );
          expect(ofCode.map((r) => r.id).sort()).toEqual(
            rows
              .filter((_, i) => i % 3 === 0)
              .map((r) => r.id)
              .sort(),
          );
        },
      ),
      { numRuns: 15 },
    );
    expect(await findEachByKey(db, probe, [], 'uuid', (k) => eq(probe.id, k))).toEqual([]);
  });
});

describe('bulkUpdate', () => {
  it('writes the new values of exactly the listed rows that the condition admits, in a transaction or not', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }),
        fc.boolean(),
        fc.uint8Array({ minLength: 0, maxLength: 40 }),
        async (count, inTransaction, bytes) => {
          const rows = await freshProbeRows(count + 4, (i) => i % 5 === 4);
          const changes = rows.slice(0, count).map((r, i) => ({
            id: r.id,
            key: Buffer.concat([Buffer.from(bytes), Buffer.from([i % 256, 0x5c, 0x22])]),
          }));
          const update = (on: typeof db) =>
            bulkUpdate(on, 'bulk_probe', 'id', { id: 'uuid', key: 'bytea' }, changes, sql`t.code = 'open'`);
          if (inTransaction) await db.transaction((tx) => update(tx));
          else await update(db);
          const stored = new Map(
            (await db.select().from(probe)).map((r) => [r.id, Buffer.from(r.key).toString('hex')]),
          );
          rows.forEach((r, i) => {
            const change = changes[i];
            const want = change && r.code === 'open' ? change.key : r.key;
            expect(stored.get(r.id)).toBe(want.toString('hex'));
          });
        },
      ),
      { numRuns: 12 },
    );
  });
});

describe('bulkUpdate of every column type', () => {
  it('stores text, bytea, booleans, dates, timestamps and nulls exactly as given', async () => {
    await db.execute(
      sql`create table if not exists bulk_update_probe (id uuid primary key, note text, b bytea, flag boolean, d date, at timestamptz)`,
    );
    const columns = {
      id: 'uuid',
      note: 'text',
      b: 'bytea',
      flag: 'boolean',
      d: 'date',
      at: 'timestamptz',
    } as const;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            note: fc.option(
              fc.string({ unit: 'grapheme', maxLength: 12 }).map((v) => v.replaceAll('\u0000', '')),
              { nil: null },
            ),
            b: fc.option(
              fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a)),
              { nil: null },
            ),
            flag: fc.option(fc.boolean(), { nil: null }),
            d: fc.option(
              fc
                .date({ min: new Date('1900-01-01'), max: new Date('2199-12-31'), noInvalidDate: true })
                .map((x) => x.toISOString().slice(0, 10)),
              { nil: null },
            ),
            at: fc.option(
              fc.date({ min: new Date('1970-01-01'), max: new Date('2199-12-31'), noInvalidDate: true }),
              { nil: null },
            ),
          }),
          { minLength: 1, maxLength: 25 },
        ),
        async (values) => {
          await db.execute(sql`delete from bulk_update_probe`);
          const ids = values.map(() => randomUUID());
          await bulkInsert(
            db,
            'bulk_update_probe',
            { id: 'uuid' },
            ids.map((id) => ({ id })),
          );
          await bulkUpdate(
            db,
            'bulk_update_probe',
            'id',
            columns,
            values.map((v, i) => ({ id: ids[i], ...v })),
          );
          const stored = await queryRows<{
            id: string;
            note: string | null;
            b: Uint8Array | null;
            flag: boolean | null;
            d: string | null;
            at: string | null;
          }>(
            db,
            sql`select id, note, b, flag, to_char(d, 'YYYY-MM-DD') as d, to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as at from bulk_update_probe`,
          );
          const byId = new Map(stored.map((r) => [r.id, r]));
          values.forEach((v, i) => {
            const r = byId.get(ids[i] as string);
            expect(r?.note).toBe(v.note);
            expect(r?.b === null ? null : Buffer.from(r?.b as Uint8Array).toString('hex')).toBe(
              v.b === null ? null : v.b.toString('hex'),
            );
            expect(r?.flag).toBe(v.flag);
            expect(r?.d).toBe(v.d);
            expect(r?.at).toBe(v.at === null ? null : v.at.toISOString());
          });
        },
      ),
      { numRuns: 20 },
    );
  });
});

describe('keysWhere', () => {
  it('lets a delete reach exactly the listed keys whose rows the condition admits, each once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 0, max: 5 }),
        async (count, strangers) => {
          const rows = await freshProbeRows(count + 3, (i) => i % 3 === 2);
          const listed = rows.slice(0, count).map((r) => r.id);
          const keys = [
            ...listed,
            ...listed.slice(0, 2),
            ...Array.from({ length: strangers }, () => randomUUID()),
          ];
          await db.execute(
            sql`delete from bulk_probe target using ${keysWhere('bulk_probe', 'id', keys, 'uuid', sql`t.code = 'open'`)} as x where target.id = x.v`,
          );
          const left = (await db.select({ id: probe.id }).from(probe)).map((r) => r.id).sort();
          expect(left).toEqual(
            rows
              .filter((r, i) => i >= count || r.code === 'kept')
              .map((r) => r.id)
              .sort(),
          );
        },
      ),
      { numRuns: 15 },
    );
  });
});

describe('arrayLiteral', () => {
  it('carries any text, empty strings and nulls through a PostgreSQL array parameter unchanged', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.option(fc.string({ unit: 'grapheme', maxLength: 12 }), { nil: null }), { maxLength: 20 }),
        async (values) => {
          // NUL cannot be in a PostgreSQL text value at all.
          const clean = values.map((v) => (v === null ? null : v.replaceAll('\u0000', '')));
          const rows = await queryRows<{ v: string | null }>(
            db,
            sql`select v from unnest(${arrayLiteral(clean)}::text[]) with ordinality as t(v, n) order by n`,
          );
          expect(rows.map((r) => r.v)).toEqual(clean);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('carries numbers and uuids as their array types', async () => {
    const ids = [randomUUID(), randomUUID()];
    const rows = await queryRows<{ id: string; n: number | null }>(
      db,
      sql`select * from unnest(${arrayLiteral(ids)}::uuid[], ${arrayLiteral([7, undefined])}::int[]) as t(id, n)`,
    );
    expect(rows).toEqual([
      { id: ids[0], n: 7 },
      { id: ids[1], n: null },
    ]);
  });
});
