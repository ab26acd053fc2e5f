import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { type SQL, sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { lockDataDir } from './data-dir-lock.js';
import { socketTarget } from './socket-target.js';

/** A drizzle database or transaction, whichever driver is underneath. */
export type Db = PgDatabase<PgQueryResultHKT, Record<string, never>>;

/** An open database with its driver, for the few places that need the driver itself. */
export interface Database {
  db: Db;
  kind: 'pglite' | 'postgres';
  /** The PostgreSQL URL it was opened with (e.g. for a worker thread's own connections). */
  url?: string;
  /** The postgres.js client when `kind` is 'postgres' (COPY, benchmarks). */
  sql?: postgres.Sql;
  /** The PGlite instance when `kind` is 'pglite'. */
  pglite?: PGlite;
  close(): Promise<void>;
}

/** Where to open the database: a PostgreSQL URL, a PGlite data folder, or PGlite in memory. */
export type DatabaseTarget = { url: string } | { dataDir: string } | { memory: true };

/**
 * postgres.js's sockets, with Nagle's algorithm off. A COPY sends its data and then, in a
 * separate small write, its end (CopyDone); with Nagle on, that write waits for the server's
 * delayed acknowledgement of the data, ~40 ms per COPY. Everything else postgres.js already
 * sends in whole messages, for which this changes nothing.
 */
function tcpNoDelay(options: { host: string[]; port: number[]; path?: string | undefined }): net.Socket {
  if (options.path) return net.connect({ path: options.path });
  return net.connect({ host: options.host[0] ?? 'localhost', port: options.port[0] ?? 5432, noDelay: true });
}

/**
 * Opens PostgreSQL (postgres.js) or embedded PGlite behind one drizzle type. A PGlite data
 * folder is locked to this process until `close()` (see {@link lockDataDir}).
 *
 * @example
 * const database = await openDatabase(env.DATABASE_URL ? { url: env.DATABASE_URL } : { dataDir: 'data/pg' });
 */
export async function openDatabase(target: DatabaseTarget): Promise<Database> {
  if ('url' in target) {
    const { url, path } = socketTarget(target.url);
    const client = postgres(url, {
      ...(path ? { path } : {}),
      max: 10,
      onnotice: () => {},
      // JIT off: every statement of ours is OLTP or a bounded batch. With JIT on (PostgreSQL's
      // default), a table without statistics yet (just loaded, before autovacuum's analyze) made
      // the lookups' batch statement look expensive, and each one spent ~50 ms compiling.
      // A `jit` parameter in DATABASE_URL still wins.
      connection: { application_name: 'pmh-gateway', jit: 'off' },
      // A documented option that the type definitions of postgres.js 3.4 leave out.
      ...({ socket: tcpNoDelay } as object),
    });
    return {
      db: drizzlePostgres(client) as unknown as Db,
      kind: 'postgres',
      url: target.url,
      sql: client,
      close: () => client.end({ timeout: 5 }),
    };
  }
  let pglite: PGlite;
  let release = () => {};
  if ('dataDir' in target) {
    mkdirSync(path.dirname(target.dataDir), { recursive: true });
    release = lockDataDir(target.dataDir);
    try {
      pglite = await PGlite.create(target.dataDir);
    } catch (err) {
      release();
      throw err;
    }
  } else {
    pglite = await PGlite.create();
  }
  return {
    db: drizzlePglite(pglite) as unknown as Db,
    kind: 'pglite',
    pglite,
    close: async () => {
      try {
        await pglite.close();
      } finally {
        release();
      }
    },
  };
}

/**
 * Runs raw SQL and returns its rows, hiding that postgres.js answers with an array and
 * PGlite with `{ rows }`.
 *
 * @example
 * const rows = await queryRows<{ n: number }>(db, sql`select 1 as n`);
 */
export async function queryRows<T>(db: Db, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown;
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}

/**
 * The SQLSTATE of a database error, looking through drizzle's `DrizzleQueryError` wrapper.
 *
 * @example
 * if (sqlState(err) === '23505') { ... } // unique violation
 */
export function sqlState(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 4 && e; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export { sql };
