import type { Logger } from 'pino';
import { AUDIT_ACTIONS, appendAudit } from '../audit/index.js';
import { type AgreedKey, KeyRing } from '../crypto/index.js';
import type { Database } from '../db/client.js';
import { runMigrations } from '../db/migrate.js';
import { ExchangeService, Relay } from '../intermediate/agency/index.js';
import { InsurerService, type NumberingPort } from '../intermediate/insurer/index.js';
import { loadPermitListFile, PermitListStore, SHIPPED_PERMIT_LIST_URL } from '../permit-list/index.js';
import {
  InProcessNumbering,
  LookupService,
  NumberingWorker,
  PmhService,
  READ_MODEL_SCOPE,
} from '../pmh/index.js';
import { type App, createApp } from './app.js';
import type { CircuitState } from './http/circuit-breaker.js';
import type { Backoff } from './http/retry.js';
import { TokenBucket } from './http/token-bucket.js';
import {
  cachedOutboxStatus,
  IntakeService,
  Outbox,
  OutboxDispatcher,
  type OutboxStatus,
  type PmhDeliveryPort,
} from './intake/index.js';
import { RemoteHub, type RemoteSubjectReader } from './remote-hub.js';

/** How the gateway reaches a remote PMH (PMH_MODE=remote). */
export interface RemotePmhOptions {
  client: PmhDeliveryPort & RemoteSubjectReader;
  /** Reads subjects at PMH; a client with a breaker of its own, so reads never stop delivery. */
  reader?: RemoteSubjectReader;
  /** The bearer token for a tenant and business, if any. */
  token: (tenantCode: string, businessId: string) => string | undefined;
  /** Hold back a tenant and business that has no token (a token file is configured). */
  requireToken?: boolean;
  /** How long /status and /metrics reuse the outbox counts (default 1000 ms). */
  statusCacheMs?: number;
  batchSize?: number;
  maxAttempts?: number;
  backoff?: Backoff;
  ratePerSecond?: number;
  /** The client's circuit state, for operators. */
  circuit?: () => CircuitState;
  /** Thresholds above which the status page raises an alert. */
  alert?: { depth: number; ageSeconds: number };
  idleMs?: number;
  /** How long a dispatcher owns a batch in flight (longer than the client's timeout). */
  leaseMs?: number;
  /** Uniform in [0, 1) for the backoff jitter (tests pin it). */
  random?: () => number;
}

/** The audit chain of permit-list changes. */
export const PERMIT_LIST_AUDIT_CHAIN = 'permit-list';

/** Options of {@link buildSystem}. */
export interface SystemOptions {
  database: Database;
  masterKey: Buffer;
  logger: Logger;
  clock?: () => Date;
  batchSize?: number;
  leaseMs?: number;
  maxUploadBytes?: number;
  /** V8's heap growth while a linkage file is processed (`INTAKE_HEAP_GROWTH_PERCENT`; 0: V8's own). */
  intakeHeapGrowthPercent?: number;
  /** Size of a stored upload's chunks (the intake's default unless set; for tests). */
  uploadChunkBytes?: number;
  /** How the hub reaches the insurer intermediate server; in process by default. */
  numberingPort?: NumberingPort;
  numberingBatchSize?: number;
  numberingConcurrency?: number;
  numberingRetry?: { baseMs: number; maxMs: number };
  numberingMaxAttempts?: number;
  /** The linkage-key keys the hub accepts, by kid (agreed with the eligibility system). */
  linkageKeys?: ReadonlyMap<string, AgreedKey>;
  /** The permit-list file to start with; the shipped one by default. */
  permitListFile?: string | URL;
  /** How long inquiry results are kept after completion (seed Ⅲ.6); 30 days by default. */
  inquiryRetentionMs?: number;
  /** How often the retention job runs; hourly by default. */
  retentionIntervalMs?: number;
  /** Four-eyes release of held answers (two different operators). */
  fourEyes?: boolean;
  /** Run the lookups' group commit on a worker thread (PostgreSQL only; see LookupDeps.worker). */
  lookupWorker?: boolean;
  /** Forward registrations to a remote PMH through the outbox instead of the embedded hub. */
  remotePmh?: RemotePmhOptions;
}

/** The running parts of one gateway process. */
export interface System {
  app: App;
  hub: PmhService;
  intake: IntakeService;
  keyRing: KeyRing;
  database: Database;
  insurer: InsurerService;
  numbering: NumberingWorker;
  lookups: LookupService;
  permitList: PermitListStore;
  exchange: ExchangeService;
  /** Remote mode: the outbox toward PMH and its dispatcher. */
  outbox?: Outbox;
  dispatcher?: OutboxDispatcher;
  /** What operators see of the outbox (remote mode). */
  outboxStatus(): Promise<OutboxStatus | undefined>;
  /** Starts the background workers (intake, and numbering unless turned off). */
  start(options?: { numbering?: boolean }): void;
  /** Stops them after the work in hand. */
  stop(): Promise<void>;
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
  // Keys used inside other transactions are loaded first: PGlite has one connection, so a
  // key created from within a transaction would wait for that transaction forever.
  await keyRing.forScope(READ_MODEL_SCOPE);
  const hub = new PmhService({ db: database.db, keyRing, clock });
  const remote = options.remotePmh;
  const outbox = remote ? new Outbox({ db: database.db, keyRing, clock }) : undefined;
  const dispatcher =
    remote && outbox
      ? new OutboxDispatcher({
          db: database.db,
          outbox,
          port: remote.client,
          token: remote.token,
          requireToken: remote.requireToken ?? false,
          clock,
          logger: logger.child({ component: 'outbox' }),
          rate: new TokenBucket({ ratePerSecond: remote.ratePerSecond ?? 10 }),
          ...(remote.batchSize === undefined ? {} : { batchSize: remote.batchSize }),
          ...(remote.maxAttempts === undefined ? {} : { maxAttempts: remote.maxAttempts }),
          ...(remote.backoff === undefined ? {} : { backoff: remote.backoff }),
          ...(remote.idleMs === undefined ? {} : { idleMs: remote.idleMs }),
          ...(remote.random === undefined ? {} : { random: remote.random }),
          ...(remote.leaseMs === undefined ? {} : { leaseMs: remote.leaseMs }),
        })
      : undefined;
  const gatewayHub = remote
    ? new RemoteHub({ client: remote.reader ?? remote.client, token: remote.token, db: database.db, clock })
    : hub;
  const intake = new IntakeService({
    db: database.db,
    keyRing,
    hub: gatewayHub,
    outbox: outbox && dispatcher ? { store: outbox, nudge: () => dispatcher.nudge() } : undefined,
    clock,
    logger: logger.child({ component: 'intake' }),
    batchSize: options.batchSize ?? 1000,
    ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }),
    ...(options.maxUploadBytes === undefined ? {} : { maxBytes: options.maxUploadBytes }),
    ...(options.uploadChunkBytes === undefined ? {} : { chunkBytes: options.uploadChunkBytes }),
    ...(options.intakeHeapGrowthPercent === undefined
      ? {}
      : { heapGrowthPercent: options.intakeHeapGrowthPercent }),
  });
  const insurer = new InsurerService({ db: database.db, keyRing, clock });
  const numbering = new NumberingWorker({
    db: database.db,
    keyRing,
    port: options.numberingPort ?? new InProcessNumbering(insurer),
    clock,
    logger: logger.child({ component: 'numbering' }),
    ...(options.numberingBatchSize === undefined ? {} : { batchSize: options.numberingBatchSize }),
    ...(options.numberingConcurrency === undefined ? {} : { concurrency: options.numberingConcurrency }),
    ...(options.numberingRetry === undefined ? {} : { retry: options.numberingRetry }),
    ...(options.numberingMaxAttempts === undefined ? {} : { maxAttempts: options.numberingMaxAttempts }),
  });
  const linkageKeys = options.linkageKeys ?? new Map<string, AgreedKey>();
  const lookups = new LookupService({
    db: database.db,
    keyRing,
    clock,
    linkageKeys: () => linkageKeys,
    ...(database.sql ? { sql: database.sql } : {}),
    ...(options.lookupWorker && database.url ? { worker: { databaseUrl: database.url } } : {}),
  });
  const permitList = new PermitListStore({
    now: clock,
    onChange: (change) =>
      database.db.transaction((tx) =>
        appendAudit(
          tx,
          PERMIT_LIST_AUDIT_CHAIN,
          [
            {
              actor: { kind: 'user', id: change.operator },
              action:
                change.action === 'permit-list.load'
                  ? AUDIT_ACTIONS.permitListLoaded
                  : AUDIT_ACTIONS.permitListReplaced,
              detail: { previous: change.previous, current: change.current },
            },
          ],
          clock(),
        ),
      ),
  });
  await permitList.load(await loadPermitListFile(options.permitListFile ?? SHIPPED_PERMIT_LIST_URL));
  const exchange = new ExchangeService({
    db: database.db,
    keyRing,
    permitList,
    clock,
    master: options.masterKey,
  });
  const relay = new Relay({ exchange, permitList });
  const retentionMs = options.inquiryRetentionMs ?? 30 * 24 * 3600_000;
  const outboxStatus =
    outbox && dispatcher && remote
      ? cachedOutboxStatus({
          outbox,
          dispatcher,
          circuit: remote.circuit ?? (() => 'closed'),
          alert: remote.alert ?? { depth: 10_000, ageSeconds: 900 },
          cacheMs: remote.statusCacheMs ?? 1000,
        })
      : () => Promise.resolve(undefined);
  const app = createApp({
    database,
    hub: gatewayHub,
    embeddedHub: remote ? undefined : hub,
    outbox,
    outboxStatus,
    intake,
    lookups,
    permitList,
    exchange,
    relay,
    clock,
    logger,
  });
  let purge: NodeJS.Timeout | undefined;
  let retention: NodeJS.Timeout | undefined;
  return {
    app,
    hub,
    intake,
    keyRing,
    database,
    insurer,
    numbering,
    lookups,
    permitList,
    exchange,
    ...(outbox && dispatcher ? { outbox, dispatcher } : {}),
    outboxStatus,
    start(startOptions = {}) {
      intake.start();
      dispatcher?.start();
      if ((startOptions.numbering ?? true) && !remote) numbering.start();
      purge ??= setInterval(() => {
        lookups
          .purgeExpiredKeys()
          .catch((err: unknown) =>
            logger.warn({ err: { name: (err as Error).name } }, 'purge of used linkage keys failed'),
          );
      }, 5 * 60_000);
      purge.unref();
      retention ??= setInterval(() => {
        exchange
          .purgeResults(retentionMs)
          .catch((err: unknown) =>
            logger.warn({ err: { name: (err as Error).name } }, 'purge of inquiry results failed'),
          );
      }, options.retentionIntervalMs ?? 3600_000);
      retention.unref();
    },
    async stop() {
      if (purge) clearInterval(purge);
      if (retention) clearInterval(retention);
      purge = undefined;
      retention = undefined;
      await Promise.all([intake.stop(), numbering.stop(), dispatcher?.stop(), lookups.close()]);
    },
  };
}
