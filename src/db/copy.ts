/**
 * Rows in PostgreSQL's binary COPY format (the `PGCOPY` file format): the cheapest way to
 * load many rows, on PostgreSQL (postgres.js) and on PGlite alike. Every value is written
 * in the binary form of its column's type, so nothing is parsed on the database's side —
 * no JSON, no base64, no text-to-type conversion.
 */
import type { Writable } from 'node:stream';
import { sql } from 'drizzle-orm';
import { type Db, queryRows } from './client.js';

/** A column's type in the binary COPY stream; it must be the column's own type. */
export type CopyType = 'text' | 'uuid' | 'bytea' | 'int' | 'bigint' | 'boolean' | 'date' | 'timestamptz';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** Microseconds between 1970-01-01 and 2000-01-01, PostgreSQL's epoch. */
const PG_EPOCH_MS = 946_684_800_000;
const DAY_MS = 86_400_000;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function bad(column: string, type: CopyType, value: unknown): Error {
  return new TypeError(`copy: column ${column} (${type}) cannot hold a ${typeof value}`);
}

/** Milliseconds since 1970 of a `Date` or an ISO 8601 text. */
function epochMs(column: string, value: unknown): number {
  const ms =
    value instanceof Date ? value.getTime() : typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms)) throw bad(column, 'timestamptz', value);
  return ms;
}

/** Days since 1970 of a `YYYY-MM-DD` text (or a `Date`, taken in UTC). */
function epochDays(column: string, value: unknown): number {
  if (value instanceof Date) return Math.floor(value.getTime() / DAY_MS);
  const m = typeof value === 'string' ? DATE.exec(value) : null;
  if (!m) throw bad(column, 'date', value);
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  // Date.UTC rolls 2025-02-30 over to March: such a text is not a date.
  if (new Date(ms).toISOString().slice(0, 10) !== value) throw bad(column, 'date', value);
  return ms / DAY_MS;
}

/** `YYYY-MM-DD` → days since 2000 (validity dates repeat across rows). */
const dayCache = new Map<string, number>();

/** The value of a hex digit's char code, or -1. */
function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

/** Writes a canonical uuid text (8-4-4-4-12 hex digits) as its 16 bytes, with its length first. */
function writeUuid(w: Writer, value: string): boolean {
  if (value.length !== 36) return false;
  w.room(20);
  const start = w.at;
  w.buf.writeInt32BE(16, start);
  let at = start + 4;
  for (let i = 0; i < 36; ) {
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (value.charCodeAt(i) !== 45) return false;
      i += 1;
      continue;
    }
    const hi = hexDigit(value.charCodeAt(i));
    const lo = hexDigit(value.charCodeAt(i + 1));
    if (hi < 0 || lo < 0) return false;
    w.buf[at++] = (hi << 4) | lo;
    i += 2;
  }
  w.at = at;
  return true;
}

/** A growable buffer with just the writes the format needs. */
class Writer {
  buf: Buffer;
  at = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }
  int16(v: number): void {
    this.room(2);
    this.at = this.buf.writeInt16BE(v, this.at);
  }
  int32(v: number): void {
    this.room(4);
    this.at = this.buf.writeInt32BE(v, this.at);
  }
}

function writeValue(w: Writer, column: string, type: CopyType, value: unknown): void {
  if (value === null || value === undefined) {
    w.int32(-1);
    return;
  }
  switch (type) {
    case 'text': {
      if (typeof value !== 'string') throw bad(column, type, value);
      // At most 3 bytes per UTF-16 unit: written once, its length put in front afterwards.
      w.room(4 + value.length * 3);
      const n = w.buf.write(value, w.at + 4, 'utf8');
      w.buf.writeInt32BE(n, w.at);
      w.at += 4 + n;
      return;
    }
    case 'bytea': {
      if (!(value instanceof Uint8Array)) throw bad(column, type, value);
      w.int32(value.length);
      w.room(value.length);
      w.buf.set(value, w.at);
      w.at += value.length;
      return;
    }
    case 'uuid': {
      if (typeof value !== 'string' || !writeUuid(w, value)) throw bad(column, type, value);
      return;
    }
    case 'int': {
      if (typeof value !== 'number' || !Number.isInteger(value)) throw bad(column, type, value);
      w.int32(4);
      w.int32(value);
      return;
    }
    case 'bigint': {
      if (typeof value !== 'number' && typeof value !== 'bigint') throw bad(column, type, value);
      w.int32(8);
      w.room(8);
      w.at = w.buf.writeBigInt64BE(BigInt(value), w.at);
      return;
    }
    case 'boolean': {
      if (typeof value !== 'boolean') throw bad(column, type, value);
      w.int32(1);
      w.room(1);
      w.buf[w.at++] = value ? 1 : 0;
      return;
    }
    case 'date': {
      let days = typeof value === 'string' ? dayCache.get(value) : undefined;
      if (days === undefined) {
        days = epochDays(column, value) - PG_EPOCH_MS / DAY_MS;
        if (typeof value === 'string') {
          if (dayCache.size >= 4096) dayCache.clear();
          dayCache.set(value, days);
        }
      }
      w.int32(4);
      w.int32(days);
      return;
    }
    case 'timestamptz': {
      // Microseconds since 2000 stay below 2^53 for any Date, so two 32-bit halves do.
      const us = (epochMs(column, value) - PG_EPOCH_MS) * 1000;
      const high = Math.floor(us / 0x1_0000_0000);
      w.int32(8);
      w.int32(high | 0);
      w.room(4);
      w.at = w.buf.writeUInt32BE(us - high * 0x1_0000_0000, w.at);
      return;
    }
  }
}

/**
 * Encodes rows as one binary COPY stream (header, tuples, trailer) for the given columns, in
 * their order. A value that its column's type cannot hold throws a `TypeError` naming the
 * column (never the value).
 *
 * @example
 * const bytes = encodeCopyRows({ id: 'uuid', sealed: 'bytea' }, rows);
 */
export function encodeCopyRows(columns: Readonly<Record<string, CopyType>>, rows: readonly object[]): Buffer {
  const names = Object.keys(columns);
  const types = names.map((n) => columns[n] as CopyType);
  const w = new Writer(64 + rows.length * (names.length * 24 + 256));
  w.room(SIGNATURE.length);
  w.at += SIGNATURE.copy(w.buf, w.at);
  w.int32(0); // flags
  w.int32(0); // header extension length
  for (const row of rows) {
    const r = row as Record<string, unknown>;
    w.int16(names.length);
    for (let i = 0; i < names.length; i++) {
      const name = names[i] as string;
      writeValue(w, name, types[i] as CopyType, r[name]);
    }
  }
  w.int16(-1);
  return w.buf.subarray(0, w.at);
}

/** A table or column name as the bulk statements accept it (optionally schema-qualified). */
export const IDENT = /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/;

/** postgres.js's query as far as COPY needs it (`reject` is its own property). */
interface PgJsQuery extends PromiseLike<unknown> {
  reject: (err: unknown) => void;
  writable(): Promise<Writable>;
}
interface PgJsClient {
  unsafe(text: string): PgJsQuery;
}
interface PgliteClient {
  query(text: string, params: unknown[], options: { blob: Blob }): Promise<unknown>;
}

/** The driver's own client under a drizzle database or transaction. */
function clientOf(db: Db): PgJsClient | PgliteClient {
  const client = (db as unknown as { session?: { client?: unknown } }).session?.client;
  if (client && typeof (client as PgJsClient).unsafe === 'function') return client as PgJsClient;
  if (client && typeof (client as PgliteClient).query === 'function') return client as PgliteClient;
  throw new Error('copy: not a postgres.js or PGlite database');
}

/**
 * Sends a binary COPY stream through postgres.js. postgres.js 3.4 never settles a COPY that
 * the server refuses after the data was sent (upstream issue 1173: the stream's end callback
 * is never called and the error is dropped), which would leave a transaction hanging. The
 * query's own `reject` still sees that error, so it is watched here and ends the wait.
 */
async function copyPostgresJs(client: PgJsClient, text: string, bytes: Buffer): Promise<void> {
  const query = client.unsafe(text);
  let fail: (err: unknown) => void = () => {};
  const refused = new Promise<never>((_, reject) => {
    fail = reject;
  });
  refused.catch(() => {});
  const reject = query.reject;
  query.reject = (err) => {
    fail(err);
    reject(err);
  };
  const stream = await query.writable();
  const finished = new Promise<void>((resolve, reject) => {
    stream.once('error', reject);
    stream.end(bytes, () => resolve());
  });
  await Promise.race([finished, refused]);
}

/** PostgreSQL's names of the types a binary COPY stream here can carry. */
const COPY_TYPES: Readonly<Record<string, CopyType>> = {
  text: 'text',
  'character varying': 'text',
  uuid: 'uuid',
  bytea: 'bytea',
  integer: 'int',
  bigint: 'bigint',
  boolean: 'boolean',
  date: 'date',
  'timestamp with time zone': 'timestamptz',
};

/** Column types per table, read from the catalog once per process (one schema for all). */
const tableTypes = new Map<string, Promise<ReadonlyMap<string, CopyType | undefined>>>();

function typesOf(db: Db, table: string): Promise<ReadonlyMap<string, CopyType | undefined>> {
  let types = tableTypes.get(table);
  if (!types) {
    types = queryRows<{ name: string; type: string }>(
      db,
      sql`select a.attname as name, format_type(a.atttypid, null) as type
            from pg_attribute a
           where a.attrelid = ${table}::regclass and a.attnum > 0 and not a.attisdropped`,
    ).then((rows) => new Map(rows.map((r) => [r.name, COPY_TYPES[r.type]])));
    tableTypes.set(table, types);
    types.catch(() => tableTypes.delete(table));
  }
  return types;
}

/**
 * Loads rows into a table by binary COPY (see {@link encodeCopyRows}), inside the caller's
 * transaction if it has one. Each value is encoded as its column's type in the table (read
 * from the catalog), so the caller names only the columns. Returns false, having written
 * nothing, when a column's type is one the stream here cannot carry.
 *
 * @example
 * await copyRows(tx, 'intake.linkage_file_rows', ['file_id', 'row_no', 'outcome'], rows);
 */
export async function copyRows(
  db: Db,
  table: string,
  names: readonly string[],
  rows: readonly object[],
): Promise<boolean> {
  if (!IDENT.test(table) || !names.every((n) => IDENT.test(n))) throw new Error('copy: bad identifier');
  const types = await typesOf(db, table);
  const columns: Record<string, CopyType> = {};
  for (const n of names) {
    const type = types.get(n);
    if (!type) return false;
    columns[n] = type;
  }
  if (rows.length === 0) return true;
  const bytes = encodeCopyRows(columns, rows);
  const client = clientOf(db);
  if ('unsafe' in client) {
    await copyPostgresJs(
      client,
      `copy ${table} (${names.join(', ')}) from stdin with (format binary)`,
      bytes,
    );
  } else {
    await client.query(`copy ${table} (${names.join(', ')}) from '/dev/blob' with (format binary)`, [], {
      blob: new Blob([bytes]),
    });
  }
  return true;
}
