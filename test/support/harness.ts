import { generateKeyPairSync, type KeyObject, randomBytes, randomInt } from 'node:crypto';
import { Writable } from 'node:stream';
import postgres from 'postgres';
import { afterAll, onTestFinished } from 'vitest';
import { type Database, openDatabase } from '../../src/db/client.js';
import { createLogger } from '../../src/gateway/http/logger.js';
import { hubLinkageKeys } from '../../src/gateway/linkage-keys.js';
import { buildSystem, type System, type SystemOptions } from '../../src/gateway/system.js';
import { createClient, SCOPES, type Scope, SERVICE_TENANT } from '../../src/identity/index.js';
import { withMunicipalityCheckDigit } from '../../src/japanese/index.js';
import { ensureTenant } from '../../src/pmh/index.js';

/** Everything a test file needs: one database, one system, a captured log. */
export interface Harness {
  system: System;
  database: Database;
  logs: string[];
  /** A fresh tenant with clients: `token` (register, read, my-number:view), `readOnly` (read), `noMyNumber` (register, read). */
  tenant(): Promise<TestTenant>;
  request(path: string, init?: RequestInit & { token?: string }): Promise<Response>;
  /** A service client (eligibility system, portal, …) with one scope. */
  service(scope: Scope): Promise<string>;
  /** A client of any tenant and business (e.g. a second business of a test tenant's municipality). */
  client(tenantCode: string, businessId: string, scopes: Scope[]): Promise<string>;
  /** The eligibility system's X25519 key and the hub's public key, as agreed for epoch '1'. */
  linkage: { eligibilityPrivate: KeyObject; hubPublic: KeyObject; epoch: string };
}

export interface TestTenant {
  municipalityCode: string;
  businessId: string;
  token: string;
  readOnly: string;
  noMyNumber: string;
}

/**
 * Opens one database for the test file: PGlite in memory, or — when `DATABASE_URL` is set —
 * a fresh PostgreSQL database created for this file and dropped after it.
 */
export async function openTestDatabase(): Promise<Database> {
  const url = process.env.DATABASE_URL;
  if (!url) return openDatabase({ memory: true });
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const target = new URL(url);
  target.pathname = `/${name}`;
  const database = await openDatabase({ url: target.toString() });
  const close = database.close;
  database.close = async () => {
    await close();
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  };
  return database;
}

/**
 * Builds the harness once per test file (call at module level with top-level await).
 *
 * @example
 * const h = await createHarness();
 * // in each test: const t = await h.tenant();
 */
export async function createHarness(
  options: Pick<
    SystemOptions,
    | 'numberingPort'
    | 'numberingMaxAttempts'
    | 'numberingRetry'
    | 'remotePmh'
    | 'lookupWorker'
    | 'uploadChunkBytes'
  > & {
    batchSize?: number;
    clock?: () => Date;
  } = {},
): Promise<Harness> {
  const database = await openTestDatabase();
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const logger = createLogger('debug', sink);
  const hubKey = generateKeyPairSync('x25519');
  const eligibilityKey = generateKeyPairSync('x25519');
  const system = await buildSystem({
    linkageKeys: hubLinkageKeys(hubKey.privateKey, [eligibilityKey.publicKey], ['1']),
    database,
    masterKey: randomBytes(32),
    logger,
    batchSize: options.batchSize ?? 100,
    leaseMs: 2000,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.numberingPort ? { numberingPort: options.numberingPort } : {}),
    ...(options.numberingMaxAttempts ? { numberingMaxAttempts: options.numberingMaxAttempts } : {}),
    numberingRetry: options.numberingRetry ?? { baseMs: 0, maxMs: 0 },
    ...(options.remotePmh ? { remotePmh: options.remotePmh } : {}),
    ...(options.lookupWorker ? { lookupWorker: true } : {}),
    ...(options.uploadChunkBytes ? { uploadChunkBytes: options.uploadChunkBytes } : {}),
  });
  afterAll(async () => {
    await system.stop();
    await database.close();
  });
  const client = async (tenantCode: string, businessId: string, scopes: Scope[]) =>
    (await createClient(database.db, { name: 'test', tenantCode, businessId, scopes })).token;
  return {
    system,
    database,
    logs,
    async tenant() {
      const municipalityCode = withMunicipalityCheckDigit(String(randomInt(10_000, 99_999)));
      const businessId = `biz-${randomBytes(4).toString('hex')}`;
      await ensureTenant(database.db, municipalityCode, `テスト${municipalityCode}`);
      return {
        municipalityCode,
        businessId,
        token: await client(municipalityCode, businessId, [
          SCOPES.register,
          SCOPES.read,
          SCOPES.myNumberView,
        ]),
        readOnly: await client(municipalityCode, businessId, [SCOPES.read]),
        noMyNumber: await client(municipalityCode, businessId, [SCOPES.register, SCOPES.read]),
      };
    },
    linkage: { eligibilityPrivate: eligibilityKey.privateKey, hubPublic: hubKey.publicKey, epoch: '1' },
    service: (scope) => client(SERVICE_TENANT, SERVICE_TENANT, [scope]),
    client,
    request(path, init = {}) {
      const { token, headers, ...rest } = init;
      const h = new Headers(headers);
      if (token) h.set('authorization', `Bearer ${token}`);
      return Promise.resolve(system.app.request(path, { ...rest, headers: h }));
    },
  };
}

/** Waits until the intake has no file left to process (drives the worker directly). */
export async function drainIntake(system: System): Promise<void> {
  while (await system.intake.processNext()) {
    /* keep going */
  }
}

/** Numbers every due subject (drives the numbering worker directly). */
export async function drainNumbering(system: System): Promise<void> {
  while (await system.numbering.processNext()) {
    /* keep going */
  }
}

/** Unused-var-safe marker so a test's teardown runs even when it fails. */
export const finished = onTestFinished;
