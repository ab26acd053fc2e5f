import path from 'node:path';
import { makeDataDir } from '../../config/data-dir.js';
import { loadInsurerEnv } from '../../config/env.js';
import { failureMessage } from '../../config/errors.js';
import { serverTls } from '../../config/tls.js';
import { KeyRing, masterKeyFor } from '../../crypto/index.js';
import { openDatabase } from '../../db/client.js';
import { runMigrations } from '../../db/migrate.js';
import { createLogger } from '../../gateway/http/logger.js';
import { serveApp } from '../../gateway/http/serve.js';
import { loadInsured } from '../../sim/insured/index.js';
import { createInsurerApp } from './insurer.routes.js';
import { InsurerService } from './insurer.service.js';

async function main(): Promise<void> {
  const env = loadInsurerEnv();
  const logger = createLogger(env.LOG_LEVEL);
  makeDataDir(env.DATA_DIR);
  const database = await openDatabase(
    env.DATABASE_URL ? { url: env.DATABASE_URL } : { dataDir: path.join(env.DATA_DIR, 'pglite') },
  );
  await runMigrations(database);
  const keyRing = await KeyRing.open(database.db, (await masterKeyFor(database.db, env.MASTER_KEY_FILE)).key);
  const insurer = new InsurerService({ db: database.db, keyRing, clock: () => new Date() });
  if (env.INSURED_PEOPLE > 0) {
    const added = await loadInsured(insurer, {
      seed: 1,
      size: env.INSURED_PEOPLE,
      ...(env.INSURED_MISMATCH_EVERY > 0 ? { mismatchEvery: env.INSURED_MISMATCH_EVERY } : {}),
    });
    logger.info({ added }, 'insured persons loaded');
  }
  const tls = serverTls('INSURER_TLS_', env);
  const server = serveApp(
    {
      fetch: createInsurerApp({ insurer, token: env.INSURER_TOKEN, logger }).fetch,
      port: env.INSURER_PORT,
      hostname: env.HOST,
      tls,
    },
    (info) =>
      process.stdout.write(
        `insurer intermediate server on ${tls ? 'https' : 'http'}://${env.HOST}:${info.port}/insurer/v1${tls?.clientCa ? ' (mutual TLS)' : ''}\n`,
      ),
  );
  const shutdown = async () => {
    server.close();
    await database.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
}

main().catch((err: unknown) => {
  process.stderr.write(`${failureMessage(err, 'insurer server failed to start')}\n`);
  process.exit(1);
});
