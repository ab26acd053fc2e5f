import path from 'node:path';
import { makeDataDir } from '../config/data-dir.js';
import { loadEnv } from '../config/env.js';
import { failureMessage } from '../config/errors.js';
import { clientTls, serverTls } from '../config/tls.js';
import { masterKeyFor } from '../crypto/index.js';
import { openDatabase } from '../db/client.js';
import { createInsurerApp } from '../intermediate/insurer/index.js';
import { CircuitBreaker, createInsurerDispatcher, InsurerHttpClient } from '../pmh/index.js';
import { createSimulatorPages, demoSimulators } from '../sim/demo/index.js';
import { loadOrCreateSecret, seedDemo, seedDemoExchange, seedDemoInsured } from './demo.js';
import { createLogger } from './http/logger.js';
import { serveApp } from './http/serve.js';
import { createPublicKey, demoKeyFiles, hubLinkageKeys, loadOrCreateX25519 } from './linkage-keys.js';
import { remotePmhFromEnv } from './remote-config.js';
import { buildSystem } from './system.js';

async function main(): Promise<void> {
  const env = loadEnv();
  const logger = createLogger(env.LOG_LEVEL);
  makeDataDir(env.DATA_DIR);
  const database = await openDatabase(
    env.DATABASE_URL ? { url: env.DATABASE_URL } : { dataDir: path.join(env.DATA_DIR, 'pglite') },
  );
  const master = await masterKeyFor(database.db, env.MASTER_KEY_FILE);
  if (master.created) {
    logger.warn(
      { file: env.MASTER_KEY_FILE },
      'created a new master key; back it up — without it the stored data cannot be decrypted',
    );
  }
  const insurerToken = env.INSURER_TOKEN ?? loadOrCreateSecret(env.INSURER_TOKEN_FILE);
  const numberingTls = clientTls('NUMBERING_TLS_', env);
  const insurerTls = serverTls('INSURER_TLS_', env);
  const gatewayTls = serverTls('TLS_', env);
  const numberingPort = env.NUMBERING_URL
    ? new InsurerHttpClient({
        baseUrl: env.NUMBERING_URL,
        token: insurerToken,
        dispatcher: createInsurerDispatcher(env.NUMBERING_URL, numberingTls ? { tls: numberingTls } : {}),
        breaker: new CircuitBreaker({ openMs: env.NUMBERING_BREAKER_OPEN_MS }),
      })
    : undefined;
  const keyFiles = demoKeyFiles(env.DATA_DIR);
  const hubKey = loadOrCreateX25519(keyFiles.hub);
  const eligibilityKey = loadOrCreateX25519(keyFiles.eligibility);
  const linkageKeys = hubLinkageKeys(hubKey, [createPublicKey(eligibilityKey)], env.LINKAGE_KEY_EPOCHS);
  const remote = remotePmhFromEnv(env);
  const system = await buildSystem({
    ...(remote ? { remotePmh: remote.options } : {}),
    linkageKeys,
    database,
    masterKey: master.key,
    logger,
    batchSize: env.INTAKE_BATCH_SIZE,
    leaseMs: env.INTAKE_LEASE_MS,
    maxUploadBytes: env.MAX_UPLOAD_BYTES,
    intakeHeapGrowthPercent: env.INTAKE_HEAP_GROWTH_PERCENT,
    ...(numberingPort ? { numberingPort } : {}),
    numberingBatchSize: env.NUMBERING_BATCH_SIZE,
    numberingConcurrency: env.NUMBERING_CONCURRENCY,
    numberingRetry: { baseMs: env.NUMBERING_RETRY_BASE_MS, maxMs: env.NUMBERING_RETRY_MAX_MS },
    numberingMaxAttempts: env.NUMBERING_MAX_ATTEMPTS,
    inquiryRetentionMs: env.INQUIRY_RETENTION_MS,
    retentionIntervalMs: env.RETENTION_INTERVAL_MS,
    fourEyes: env.RELEASE_FOUR_EYES,
    lookupWorker: env.LOOKUP_WORKER,
  });
  const demo = env.DEMO ? await seedDemo(database.db, env.DATA_DIR) : undefined;
  const demoExchange = demo ? await seedDemoExchange(database.db, system.exchange, env.DATA_DIR) : undefined;
  const insurerApp = createInsurerApp({ insurer: system.insurer, token: insurerToken, logger });
  if (demo && !remote) {
    const sims = demoSimulators({
      dataDir: env.DATA_DIR,
      hub: (p, init) => Promise.resolve(system.app.request(p, init)),
      insurer: (p, init) => Promise.resolve(insurerApp.request(p, init)),
      insurerToken,
      ...(env.LINKAGE_KEY_EPOCHS[0] ? { epoch: env.LINKAGE_KEY_EPOCHS[0] } : {}),
    });
    system.app.route('/sim', createSimulatorPages(sims));
  }
  // In remote mode PMH numbers subjects itself: the demo's insurer server would serve nobody.
  if (env.DEMO && env.DEMO_INSURED > 0 && !remote) {
    const added = await seedDemoInsured(system.insurer, env.DEMO_INSURED);
    if (added > 0) logger.info({ added }, 'loaded demo insured persons into the insurer intermediate server');
  }
  system.start({ numbering: env.NUMBERING_WORKER });
  const insurerServer =
    env.INSURER_PORT > 0
      ? serveApp({ fetch: insurerApp.fetch, port: env.INSURER_PORT, hostname: env.HOST, tls: insurerTls })
      : undefined;

  const server = serveApp(
    { fetch: system.app.fetch, port: env.PORT, hostname: env.HOST, tls: gatewayTls },
    (info) => {
      const base = `${gatewayTls ? 'https' : 'http'}://${env.HOST}:${info.port}`;
      const lines = [
        '',
        `pmh-gateway is running on ${database.kind === 'pglite' ? `PGlite (${path.join(env.DATA_DIR, 'pglite')})` : 'PostgreSQL'}`,
        ...(gatewayTls
          ? [
              `  TLS             ${gatewayTls.clientCa ? 'mutual: clients need a certificate issued by TLS_CLIENT_CA_FILE' : 'server certificate from TLS_CERT_FILE'}`,
            ]
          : []),
        `  API docs        ${base}/docs`,
        `  OpenAPI         ${base}/openapi.json`,
        `  health          ${base}/healthz   ${base}/readyz`,
        remote
          ? `  municipality API ${base}/api/v1   → PMH at ${env.PMH_BASE_URL} (outbox: ${base}/status, ${base}/metrics)`
          : `  municipality API ${base}/api/v1   hub API ${base}/pmh/v1   status ${base}/status`,
        ...(env.INSURER_PORT > 0
          ? [
              `  insurer server  ${insurerTls ? 'https' : 'http'}://${env.HOST}:${env.INSURER_PORT}/insurer/v1 (token in ${env.INSURER_TOKEN ? 'INSURER_TOKEN' : env.INSURER_TOKEN_FILE}${insurerTls?.clientCa ? '; mutual TLS' : ''})`,
            ]
          : []),
        ...(remote
          ? []
          : [`  numbering       ${env.NUMBERING_URL ? `over HTTP to ${env.NUMBERING_URL}` : 'in process'}`]),
      ];
      if (database.kind === 'postgres' && !process.execArgv.includes('--single-threaded-gc'))
        lines.push(
          '  note            started without node --single-threaded-gc (as `npm run start:prod` does): on a small host V8’s background collector threads widen the lookups’ latency tail',
        );
      if (database.kind === 'postgres' && process.platform === 'linux' && !process.env.MALLOC_MMAP_THRESHOLD_)
        lines.push(
          '  note            started without MALLOC_MMAP_THRESHOLD_=131072 (as `npm run start:prod` does): glibc then keeps freed large buffers, ~40 MB more resident while a linkage file is processed',
        );
      lines.push(
        master.created
          ? `  master key      ${env.MASTER_KEY_FILE} (new: back it up — without it the data cannot be decrypted)`
          : `  master key      ${env.MASTER_KEY_FILE} (the data, keys and tokens of earlier starts are kept)`,
      );
      if (demo) lines.push(`  demo tokens     ${demo.file}`);
      if (demo && !remote) {
        if (demoExchange)
          lines.push(
            `  exchange        ${base}/exchange/v1   (agencies, tokens, keys: ${demoExchange.file})`,
          );
        lines.push(
          `  clinic, portal  ${base}/sim/clinic   ${base}/sim/portal  (simulated terminal and My Number Portal)`,
        );
        lines.push(`  try: npm run sim:case-system -- --subjects 1000 --encoding cp932`);
      }
      process.stdout.write(`${lines.join('\n')}\n\n`);
    },
  );

  for (const [name, listener] of [
    ['gateway', server],
    ['insurer server', insurerServer],
  ] as const) {
    listener?.on('error', (err: NodeJS.ErrnoException) => {
      process.stderr.write(
        err.code === 'EADDRINUSE'
          ? `The ${name} cannot listen: the port is already in use (set ${name === 'gateway' ? 'PORT' : 'INSURER_PORT'}).\n`
          : err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN' || err.code === 'EADDRNOTAVAIL'
            ? `The ${name} cannot listen on HOST=${env.HOST}: no such address on this machine (${err.code}).\n`
            : `The ${name} stopped: ${err.name}: ${err.message}\n`,
      );
      process.exit(1);
    });
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    server.close();
    insurerServer?.close();
    await system.stop();
    await remote?.close();
    await database.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`${failureMessage(err, 'pmh-gateway failed to start')}\n`);
  process.exit(1);
});
