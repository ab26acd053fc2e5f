import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import type { Database } from './client.js';
import { queryRows, sql } from './client.js';

function findMigrations(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, 'drizzle');
    if (existsSync(path.join(candidate, 'meta', '_journal.json'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('drizzle migrations folder not found');
}

/** The folder of drizzle-kit migrations, at the repository root (found from src/ or dist/). */
export const MIGRATIONS_FOLDER = findMigrations();

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
