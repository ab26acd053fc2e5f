import path from 'node:path';
import { loadEnv } from '../config/env.js';
import { failureMessage } from '../config/errors.js';
import { openDatabase } from './client.js';
import { appliedMigrationCount, runMigrations } from './migrate.js';

try {
  const env = loadEnv();
  const database = await openDatabase(
    env.DATABASE_URL ? { url: env.DATABASE_URL } : { dataDir: path.join(env.DATA_DIR, 'pglite') },
  );
  await runMigrations(database);
  process.stdout.write(`migrations applied: ${await appliedMigrationCount(database)} (${database.kind})\n`);
  await database.close();
} catch (err) {
  process.stderr.write(`${failureMessage(err, 'migrations failed')}\n`);
  process.exit(1);
}
