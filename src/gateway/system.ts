import type { Logger } from 'pino';
import { KeyRing } from '../crypto/index.js';
import type { Database } from '../db/client.js';
import { runMigrations } from '../db/migrate.js';
import { PmhService } from '../pmh/index.js';
import { type App, createApp } from './app.js';
import { IntakeService } from './intake/index.js';

/** Options of {@link buildSystem}. */
export interface SystemOptions {
  database: Database;
  masterKey: Buffer;
  logger: Logger;
  clock?: () => Date;
  batchSize?: number;
  leaseMs?: number;
  maxUploadBytes?: number;
}

/** The running parts of one gateway process. */
export interface System {
  app: App;
  hub: PmhService;
  intake: IntakeService;
  keyRing: KeyRing;
  database: Database;
}

/**
 * Migrates the database, checks the master key and wires every context into one app.
 * Used by `main.ts`, the tests and the benchmarks alike.
 *
 * @example
 * const system = await buildSystem({ database, masterKey, logger });
 * system.intake.start();
 */
export async function buildSystem(options: SystemOptions): Promise<System> {
  const { database, logger } = options;
  const clock = options.clock ?? (() => new Date());
  await runMigrations(database);
  const keyRing = await KeyRing.open(database.db, options.masterKey);
  const hub = new PmhService({ db: database.db, keyRing, clock });
  const intake = new IntakeService({
    db: database.db,
    keyRing,
    hub,
    clock,
    logger: logger.child({ component: 'intake' }),
    batchSize: options.batchSize ?? 1000,
    ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }),
    ...(options.maxUploadBytes === undefined ? {} : { maxBytes: options.maxUploadBytes }),
  });
  const app = createApp({ database, hub, intake, logger });
  return { app, hub, intake, keyRing, database };
}
