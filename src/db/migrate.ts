import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import type { Database } from './client.js';
import { queryRows, sql } from './client.js';

/** The folder of drizzle-kit migrations, at the repository root. */
export const MIGRATIONS_FOLDER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../drizzle');

/**
 * Applies every pending migration (the same files on PGlite and PostgreSQL).
 *
 * @example
 * await runMigrations(database);
 */
export async function runMigrations(database: Database): Promise<void> {
  const config = { migrationsFolder: MIGRATIONS_FOLDER, migrationsSchema: 'drizzle' };
  if (database.kind === 'postgres') {
    await migratePostgres(database.db as never, config);
  } else {
    await migratePglite(database.db as never, config);
  }
}

/**
 * How many migrations the database has applied, or `undefined` when it cannot be reached.
 * Used by `/readyz`.
 */
export async function appliedMigrationCount(database: Database): Promise<number | undefined> {
  try {
    const rows = await queryRows<{ n: number | string }>(
      database.db,
      sql`select count(*)::int as n from drizzle.__drizzle_migrations`,
    );
    return Number(rows[0]?.n ?? 0);
  } catch {
    return undefined;
  }
}
