import { getTableColumns, type SQL, type SQLWrapper, sql } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import type { Db } from './client.js';
import { type CopyType, copyRows, IDENT } from './copy.js';

/** The SQL type of a bulk column (in the JSON statement, `bytea` travels as base64 text). */
export type BulkType = CopyType;

/** A column of a bulk statement: its name in the table and its SQL type. */
export type BulkColumns = Readonly<Record<string, BulkType>>;

function encode(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (value instanceof Date) return value.toISOString();
  return value ?? null;
}

function recordset(
  columns: BulkColumns,
  rows: readonly object[],
): { json: string; select: string; shape: string } {
  const names = Object.keys(columns);
  for (const n of [...names]) if (!IDENT.test(n)) throw new Error(`bad column name ${n}`);
  const json = JSON.stringify(
    rows.map((r) => {
      const o: Record<string, unknown> = {};
      for (const n of names) o[n] = encode((r as Record<string, unknown>)[n]);
      return o;
    }),
  );
  const shape = names.map((n) => `${n} ${columns[n] === 'bytea' ? 'text' : columns[n]}`).join(', ');
  const select = names
    .map((n) => (columns[n] === 'bytea' ? `decode(x.${n}, 'base64')` : `x.${n}`))
    .join(', ');
  return { json, select, shape };
}

/**
 * The statement {@link bulkInsert} runs, for a caller that composes it (e.g. as a CTE).
 *
 * @example
 * await db.execute(sql`with ins as (${bulkInsertStatement('audit.entries', cols, rows)}) update …`);
 */
export function bulkInsertStatement(
  table: string,
  columns: BulkColumns,
  rows: readonly object[],
  options: { onConflictDoNothing?: boolean; onConflict?: string } = {},
): SQL {
  if (!IDENT.test(table)) throw new Error(`bad table name ${table}`);
  const { json, select, shape } = recordset(columns, rows);
  const conflict = options.onConflictDoNothing
    ? ' on conflict do nothing'
    : options.onConflict
      ? ` on conflict ${options.onConflict}`
      : '';
  return sql`${sql.raw(`insert into ${table} (${Object.keys(columns).join(', ')}) select ${select} from json_to_recordset(`)}${json}${sql.raw(`::json) as x(${shape})${conflict}`)}`;
}

/** From this many rows on, {@link bulkInsert} loads by binary COPY. */
export const COPY_FROM_ROWS = 16;

/**
 * Inserts many rows: by binary COPY ({@link copyRows}) from a few rows on, when there is no
 * conflict clause; otherwise in one statement through `json_to_recordset` (one parameter
 * whatever the row count, without the per-value cost of a huge VALUES list). `json`, not
 * `jsonb`: read once as the rows are produced, where `jsonb` first builds a tree when the
 * parameter is bound (~15 ms for 1,000 hub rows).
 *
 * @example
 * await bulkInsert(tx, 'hub.subjects', { id: 'uuid', sealed: 'bytea' }, rows);
 */
export async function bulkInsert(
  db: Db,
  table: string,
  columns: BulkColumns,
  rows: readonly object[],
  options: { onConflictDoNothing?: boolean; onConflict?: string } = {},
): Promise<void> {
  if (rows.length === 0) return;
  const plain = !options.onConflictDoNothing && !options.onConflict;
  if (plain && rows.length >= COPY_FROM_ROWS && (await copyRows(db, table, Object.keys(columns), rows)))
    return;
  await db.execute(bulkInsertStatement(table, columns, rows, options));
}

/**
 * Updates many rows in one statement, matched on `key` and on the caller's `where` (which names
 * the table `t`). The `where` is checked by a probe of each row by its key ({@link keysWhere}),
 * not on the updated table itself: there PostgreSQL used it, on a tenant's subjects with
 * statistics still calling the table empty, to hash-join the batch against every subject of the
 * tenant (83 ms per 1,000 subjects with 100,000 stored, and growing) instead of looking each one
 * up by its key.
 *
 * @example
 * await bulkUpdate(tx, 'hub.entitlements', 'id', { id: 'uuid', sealed: 'bytea' }, rows, sql`t.tenant_code = ${tenant}`);
 */
export async function bulkUpdate(
  db: Db,
  table: string,
  key: string,
  columns: BulkColumns,
  rows: readonly object[],
  where?: SQL,
): Promise<void> {
  if (rows.length === 0) return;
  if (!IDENT.test(table) || !IDENT.test(key)) throw new Error('bad identifier');
  const { json, shape } = recordset(columns, rows);
  const sets = Object.keys(columns)
    .filter((n) => n !== key)
    .map((n) => `${n} = ${columns[n] === 'bytea' ? `decode(x.${n}, 'base64')` : `x.${n}`}`)
    .join(', ');
  const keyType = columns[key];
  if (where && keyType !== 'uuid' && keyType !== 'text')
    throw new Error('bulkUpdate: a where needs a uuid or text key');
  const owned = where
    ? sql` join ${keysWhere(
        table,
        key,
        rows.map((r) => String((r as Record<string, unknown>)[key])),
        keyType as 'uuid' | 'text',
        where,
      )} as own on own.v = x.${sql.raw(key)}`
    : sql``;
  await db.execute(
    sql`${sql.raw(`update ${table} target set ${sets} from (select x.* from json_to_recordset(`)}${json}${sql.raw(`::json) as x(${shape})`)}${owned}${sql.raw(`) as x where target.${key} = x.${key}`)}`,
  );
}

/**
 * `column in (…)` over many values passed as ONE jsonb parameter. drizzle's `inArray` binds
 * one parameter per value: for a batch of 1,000 ids, binding and planning cost more than the
 * lookup itself. A semi-join, not `= any(array(…))`: once postgres.js's prepared statement
 * goes generic, the array form let PostgreSQL pick far worse plans (600 ms instead of 5 ms for
 * 1,000 subjects by blind index). An empty list matches nothing.
 *
 * @example
 * await db.select().from(subjects).where(inList(subjects.id, ids, 'uuid'));
 */
export function inList(
  column: SQLWrapper,
  values: readonly (string | Buffer)[],
  type: 'uuid' | 'text' | 'bytea',
): SQL {
  if (values.length === 0) return sql`false`;
  const json = JSON.stringify(values.map((v) => (Buffer.isBuffer(v) ? v.toString('base64') : v)));
  const element = sql.raw(type === 'bytea' ? `decode(v, 'base64')` : `v::${type}`);
  return sql`${column} in (select ${element} from jsonb_array_elements_text(${json}::jsonb) as t(v))`;
}

/**
 * Keys as one array parameter of their type, each once (a key listed twice would otherwise
 * bring its rows twice): the list the probes of {@link findEachByKey} and {@link keysWhere} walk.
 */
function distinctKeys(keys: readonly (string | Buffer)[], type: 'uuid' | 'text' | 'bytea'): SQL {
  const texts = new Set(keys.map((k) => (Buffer.isBuffer(k) ? `\\x${k.toString('hex')}` : k)));
  return sql`${arrayLiteral([...texts])}::${sql.raw(type)}[]`;
}

/** The most rows a probe of {@link findEachByKey} returns per key when it may return several. */
const EVERY_ROW = 2_147_483_647;

/**
 * The rows of `table` for each of many keys, one index probe per key whatever the table's
 * statistics say: `unnest(keys) cross join lateral (select … where <key> = k.v limit n)`, with
 * `n` 1 for a unique key (`perKey: 'one'`, the default) or unbounded (`'many'`); only the
 * columns in `fields` when given (all otherwise). The `limit` keeps PostgreSQL from flattening
 * the probe into a join it may plan as a scan of every row: `inList`'s semi-join did exactly that
 * during a large first ingest, while the statistics still called the table empty (the
 * blind-index lookup of 1,000 subjects read all of the tenant's rows, 20 ms with 20,000 stored
 * and growing with every batch; the entitlements of 1,000 subjects 46 ms on a 100,000-row
 * re-upload), and `= any(array)` kept the list as a filter over the same scan. A key listed twice
 * is read once; keys that match nothing are left out; an empty list reads nothing.
 *
 * @example
 * await findEachByKey(db, subjects, indexes, 'bytea', (k) => and(own, eq(subjects.myNumberIndex, k)));
 * await findEachByKey(db, entitlements, subjectIds, 'uuid', (k) => eq(entitlements.subjectId, k), {
 *   perKey: 'many',
 *   fields: ['id', 'digest'],
 * });
 */
export async function findEachByKey<
  T extends PgTable,
  K extends keyof T['$inferSelect'] & string = keyof T['$inferSelect'] & string,
>(
  db: Db,
  table: T,
  keys: readonly (string | Buffer)[],
  type: 'uuid' | 'text' | 'bytea',
  where: (key: SQL) => SQL | undefined,
  options: { perKey?: 'one' | 'many'; fields?: readonly K[] } = {},
): Promise<Pick<T['$inferSelect'], K>[]> {
  if (keys.length === 0) return [];
  const all = getTableColumns(table) as Record<string, SQLWrapper>;
  const names = options.fields ?? (Object.keys(all) as K[]);
  const probe = db
    .select(Object.fromEntries(names.map((n) => [n, all[n]])) as Record<string, never>)
    .from(table as PgTable)
    .where(where(sql`k.v`))
    .limit(options.perKey === 'many' ? EVERY_ROW : 1)
    .as('p');
  const columns = Object.fromEntries(
    names.map((name) => [name, (probe as unknown as Record<string, SQLWrapper>)[name]]),
  );
  return (await db
    .select(columns as Record<string, never>)
    .from(sql`unnest(${distinctKeys(keys, type)}) as k(v)`)
    .crossJoinLateral(probe)) as unknown as Pick<T['$inferSelect'], K>[];
}

/**
 * A subquery (one column, `v`) of those of `keys` whose row in `table` the caller's `where`
 * (naming the table `t`) admits, each found by one probe of the key's index, for a statement
 * to join its target to by key alone: `delete from T target using ${keysWhere(…)} as x where
 * target.id = x.v` ({@link bulkDelete}). Put on the target itself, a tenant's condition let PostgreSQL, with a first
 * ingest's stale statistics, scan every subject of the tenant for each batch (see
 * {@link findEachByKey}); deleting 1,000 subjects took 52 ms with 100,000 stored, and growing.
 * A key listed twice comes once.
 *
 * @example
 * await db.execute(sql`delete from hub.subjects target using ${keysWhere('hub.subjects', 'id', ids, 'uuid', own)} as x where target.id = x.v`);
 */
export function keysWhere(
  table: string,
  key: string,
  keys: readonly string[],
  type: 'uuid' | 'text',
  where: SQL,
): SQL {
  if (!IDENT.test(table) || !IDENT.test(key)) throw new Error('bad identifier');
  return sql`(select k.v from unnest(${distinctKeys(keys, type)}) as k(v) cross join lateral (select 1 from ${sql.raw(table)} t where t.${sql.raw(key)} = k.v and ${where} limit 1) as own)`;
}

/**
 * Deletes the rows of `table` whose `key` is listed and whose row the caller's `where` (naming
 * the table `t`) admits, joined by key alone to {@link keysWhere}: one probe per key, whatever
 * the statistics say. No keys, no statement.
 *
 * @example
 * await bulkDelete(tx, 'hub.subjects', 'id', ids, 'uuid', sql`t.tenant_code = ${tenant}`);
 */
export async function bulkDelete(
  db: Db,
  table: string,
  key: string,
  keys: readonly string[],
  type: 'uuid' | 'text',
  where: SQL,
): Promise<void> {
  if (keys.length === 0) return;
  await db.execute(
    sql`${sql.raw(`delete from ${table} target using `)}${keysWhere(table, key, keys, type, where)}${sql.raw(` as x where target.${key} = x.v`)}`,
  );
}

/**
 * A PostgreSQL array literal (`{"a","b",NULL}`) of text values, each quoted and escaped, to bind
 * as ONE parameter cast to an array type and `unnest`ed: faster than the same values as one JSON
 * recordset (2,000 rows of five columns: ~5 ms a round trip against ~7 ms, client included).
 *
 * @example
 * sql`select * from unnest(${arrayLiteral(ids)}::uuid[], ${arrayLiteral(names)}::text[]) as x(id, name)`
 */
export function arrayLiteral(values: readonly (string | number | null | undefined)[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ',';
    out += v === null || v === undefined ? 'NULL' : `"${String(v).replace(/[\\"]/g, '\\$&')}"`;
  }
  return `${out}}`;
}
