import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { serve } from '@hono/node-server';
import { EnvError, loadEnv } from '../config/env.js';
import { loadOrCreateMasterKey, MasterKeyError } from '../crypto/index.js';
import { openDatabase } from '../db/client.js';
import { seedDemo } from './demo.js';
import { createLogger } from './http/logger.js';
import { buildSystem } from './system.js';

async function main(): Promise<void> {
  const env = loadEnv();
  const logger = createLogger(env.LOG_LEVEL);
  mkdirSync(env.DATA_DIR, { recursive: true });
  const database = await openDatabase(
    env.DATABASE_URL ? { url: env.DATABASE_URL } : { dataDir: path.join(env.DATA_DIR, 'pglite') },
  );
  const master = loadOrCreateMasterKey(env.MASTER_KEY_FILE);
  if (master.created) {
    logger.warn(
      { file: env.MASTER_KEY_FILE },
      'created a new master key; back it up — without it the stored data cannot be decrypted',
    );
  }
  const system = await buildSystem({
    database,
    masterKey: master.key,
    logger,
    batchSize: env.INTAKE_BATCH_SIZE,
  });
  const demo = env.DEMO ? await seedDemo(database.db, env.DATA_DIR) : undefined;
  system.intake.start();

  const server = serve({ fetch: system.app.fetch, port: env.PORT, hostname: env.HOST }, (info) => {
    const base = `http://${env.HOST}:${info.port}`;
    const lines = [
      '',
      `pmh-gateway is running on ${database.kind === 'pglite' ? `PGlite (${path.join(env.DATA_DIR, 'pglite')})` : 'PostgreSQL'}`,
      `  API docs        ${base}/docs`,
      `  OpenAPI         ${base}/openapi.json`,
      `  health          ${base}/healthz   ${base}/readyz`,
      `  municipality API ${base}/api/v1   hub API ${base}/pmh/v1`,
    ];
    if (demo) {
      lines.push(`  demo tokens     ${demo.file}`);
      lines.push(`  try: npm run sim:case-system -- --subjects 1000 --encoding cp932`);
    }
    process.stdout.write(`${lines.join('\n')}\n\n`);
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    server.close();
    await system.intake.stop();
    await database.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  if (err instanceof EnvError || err instanceof MasterKeyError) {
    process.stderr.write(`${err.message}\n`);
  } else {
    process.stderr.write(`pmh-gateway failed to start: ${(err as Error).name}: ${(err as Error).message}\n`);
  }
  process.exit(1);
});
