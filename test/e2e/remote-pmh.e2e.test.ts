import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { serve } from '@hono/node-server';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../src/db/client.js';
import { CircuitBreaker } from '../../src/gateway/http/circuit-breaker.js';
import { createLogger } from '../../src/gateway/http/logger.js';
import { createRemotePmhDispatcher, RemotePmhClient } from '../../src/gateway/remote-pmh/index.js';
import { buildSystem } from '../../src/gateway/system.js';
import { createClient, SCOPES } from '../../src/identity/index.js';
import { ensureTenant } from '../../src/pmh/index.js';
import { csvFile, csvRow } from '../fixtures/csv.js';
import { record } from '../fixtures/records.js';
import { createHarness, openTestDatabase } from '../support/harness.js';
import { startServer } from './server.js';

// PMH: a second instance of this product, running the hub embedded, served on loopback.
const pmh = await createHarness();
/** When set, PMH answers a registration only this long after applying it (answers in flight at a crash). */
let answerDelayMs = 0;
/** When set, PMH applies the next registration, says so, and holds its answer until released. */
let holdNext: { applied: () => void; release: Promise<void> } | undefined;
const pmhServer = await new Promise<ReturnType<typeof serve>>((resolve) => {
  const s = serve(
    {
      fetch: async (req) => {
        const res = await pmh.system.app.fetch(req);
        if (req.url.endsWith('/registration-tasks')) {
          const hold = holdNext;
          holdNext = undefined;
          if (hold) {
            hold.applied();
            await hold.release;
          } else if (answerDelayMs) await new Promise((r) => setTimeout(r, answerDelayMs));
        }
        return res;
      },
      port: 0,
      hostname: '127.0.0.1',
    },
    () => resolve(s),
  );
});
const pmhUrl = `http://127.0.0.1:${(pmhServer.address() as AddressInfo).port}/pmh/v1`;

// The gateway in remote mode, in process, on a database of its own.
const gatewayDb = await openTestDatabase();
const breaker = new CircuitBreaker({ openMs: 200 });
const dispatcher = createRemotePmhDispatcher(pmhUrl);
const tokens = new Map<string, string>();
const masterKey = randomBytes(32);
const gateway = await buildSystem({
  database: gatewayDb,
  masterKey,
  logger: createLogger('silent'),
  batchSize: 40,
  remotePmh: {
    client: new RemotePmhClient({ baseUrl: pmhUrl, dispatcher, timeoutMs: 5000, breaker }),
    token: (tenant, business) => tokens.get(`${tenant}:${business}`),
    batchSize: 25,
    maxAttempts: 3,
    backoff: { baseMs: 10, maxMs: 50 },
    ratePerSecond: 1000,
    circuit: () => breaker.state,
    alert: { depth: 1_000_000, ageSeconds: 3600 },
    idleMs: 20,
    statusCacheMs: 0,
  },
});
afterAll(async () => {
  await gateway.stop();
  await dispatcher.close();
  await gatewayDb.close();
  await new Promise((r) => pmhServer.close(r));
});

/** The same tenant and business on both sides: a case-system token at the gateway, ours at PMH. */
async function pair() {
  const t = await pmh.tenant();
  tokens.set(`${t.municipalityCode}:${t.businessId}`, t.token);
  await ensureTenant(gatewayDb.db, t.municipalityCode, 'テスト');
  const { token } = await createClient(gatewayDb.db, {
    name: 'case system',
    tenantCode: t.municipalityCode,
    businessId: t.businessId,
    scopes: [SCOPES.register, SCOPES.read],
  });
  return { ...t, gatewayToken: token };
}

async function call(p: string, token: string, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  return gateway.app.request(p, { ...init, headers });
}

async function deliverAll(): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    const worked = await (gateway.dispatcher?.processNext() ?? Promise.resolve(false));
    if (!worked) {
      const status = await gateway.outboxStatus();
      if (!status || status.depth === 0) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  throw new Error('the outbox did not drain');
}

describe('the gateway in remote mode', () => {
  it('forwards a JSON registration to PMH and shows each record delivered', async () => {
    const t = await pair();
    const records = Array.from({ length: 60 }, () => record());
    const res = await call('/api/v1/subjects', t.gatewayToken, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(records),
    });
    expect(res.status, await res.clone().text()).toBe(202);
    const { submissionId, recordCount } = (await res.json()) as { submissionId: string; recordCount: number };
    expect(recordCount).toBe(60);

    const stranger = await pair();
    const peek = await call(`/api/v1/submissions/${submissionId}`, stranger.gatewayToken);
    expect(peek.status, 'another tenant never sees the submission').toBe(404);

    const before = (await (await call(`/api/v1/submissions/${submissionId}`, t.gatewayToken)).json()) as {
      counts: Record<string, number>;
    };
    expect(before.counts.queued).toBe(60);

    // Waiting for PMH, the records are stored sealed: no 個人番号 in clear in the outbox.
    const stored = await queryRows<Record<string, unknown>>(
      gatewayDb.db,
      sql`select m.*, encode(m.sealed, 'escape') as sealed_text from outbox.messages m where source_id = ${submissionId}`,
    );
    expect(stored).toHaveLength(60);
    const dump = JSON.stringify(stored);
    for (const r of records)
      expect(dump.includes(r.myNumber), 'a 個人番号 in clear in the outbox').toBe(false);

    await deliverAll();
    const after = (await (await call(`/api/v1/submissions/${submissionId}`, t.gatewayToken)).json()) as {
      counts: Record<string, number>;
      records: { index: number; state: string; outcome: string; subjectId: string }[];
    };
    expect(after.counts).toEqual({ queued: 0, sent: 0, accepted: 60, rejected: 0, givenUp: 0 });
    expect(after.records.every((r) => r.outcome === 'created' && r.subjectId)).toBe(true);

    // PMH holds every record, under the same subject ids the gateway shows.
    const first = after.records[0] as { subjectId: string };
    const atPmh = await pmh.request(`/pmh/v1/subjects/${first.subjectId}`, { token: t.token });
    expect(atPmh.status).toBe(200);
    const seen = (await atPmh.json()) as { basicFiveInfo: { name: string } };
    expect(seen.basicFiveInfo.name).toBe('東京 花子');

    // The gateway reads the subject back from PMH, with its delivery.
    const viaGateway = await call(`/api/v1/subjects/${first.subjectId}`, t.gatewayToken);
    expect(viaGateway.status).toBe(200);
    const view = (await viaGateway.json()) as { myNumber: string; delivery: { state: string } };
    expect(view.delivery.state).toBe('accepted');
    expect(view.myNumber, 'masked without my-number:view at the gateway').toBe('************');
    const [viewed] = await queryRows<{ n: number }>(
      gatewayDb.db,
      sql`select count(*)::int as n from audit.entries
           where tenant_code = ${t.municipalityCode} and action = 'subject.viewed' and subject_ref = ${first.subjectId}`,
    );
    expect(viewed?.n, 'the read at PMH is audited at the gateway').toBe(1);

    // The delivered records are no longer kept at the gateway, sealed or not.
    const [kept] = await queryRows<{ n: number }>(
      gatewayDb.db,
      sql`select count(*)::int as n from outbox.messages where source_id = ${submissionId} and sealed is not null`,
    );
    expect(kept?.n).toBe(0);
  });

  it('forwards a linkage file row by row: queued, then the outcome PMH gave', async () => {
    const t = await pair();
    const rows = Array.from({ length: 90 }, (_, i) => csvRow(record(i === 4 ? { myNumber: '1' } : {})));
    const up = await gateway.app.request('/api/v1/linkage-files?fileName=remote.csv', {
      method: 'POST',
      headers: { authorization: `Bearer ${t.gatewayToken}`, 'content-type': 'text/csv' },
      body: csvFile(rows),
    });
    expect(up.status).toBe(202);
    const { linkageFileId } = (await up.json()) as { linkageFileId: string };
    while (await gateway.intake.processNext()) {}
    const queued = (await (
      await call(`/api/v1/linkage-files/${linkageFileId}?limit=10`, t.gatewayToken)
    ).json()) as {
      counts: Record<string, number>;
      rows: { outcome: string; delivery?: { state: string } }[];
    };
    expect(queued.counts.queued).toBe(89);
    expect(queued.counts.rejected, 'the bad row is refused here and never sent').toBe(1);
    expect(queued.rows[0]?.outcome).toBe('queued');

    await deliverAll();
    const done = (await (
      await call(`/api/v1/linkage-files/${linkageFileId}?limit=100`, t.gatewayToken)
    ).json()) as {
      counts: Record<string, number>;
      rows: { rowNo: number; outcome: string; subjectId: string | null; delivery?: { state: string } }[];
    };
    expect(done.counts).toMatchObject({ created: 89, rejected: 1, queued: 0, givenUp: 0 });
    const delivered = done.rows.filter((r) => r.rowNo !== 5);
    expect(delivered.every((r) => r.outcome === 'created' && r.delivery?.state === 'accepted')).toBe(true);
    const sample = delivered[10] as { subjectId: string };
    expect((await pmh.request(`/pmh/v1/subjects/${sample.subjectId}`, { token: t.token })).status).toBe(200);
  });

  it('keeps records queued while PMH refuses the credentials, and delivers once they are fixed', async () => {
    const t = await pair();
    tokens.set(`${t.municipalityCode}:${t.businessId}`, 'not-a-valid-token-at-pmh');
    const res = await call('/api/v1/subjects', t.gatewayToken, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([record()]),
    });
    const { submissionId } = (await res.json()) as { submissionId: string };
    await gateway.dispatcher?.processNext();
    type Sub = { records: { state: string }[] };
    const waiting = (await (await call(`/api/v1/submissions/${submissionId}`, t.gatewayToken)).json()) as Sub;
    expect(waiting.records[0]?.state).toBe('sent');
    const status = (await (await gateway.app.request('/status')).json()) as {
      outbox: { failures: Record<string, number> };
    };
    expect(status.outbox.failures.unauthorized).toBeGreaterThan(0);
    tokens.set(`${t.municipalityCode}:${t.businessId}`, t.token);
    await deliverAll();
    const done = (await (await call(`/api/v1/submissions/${submissionId}`, t.gatewayToken)).json()) as Sub;
    expect(done.records[0]?.state).toBe('accepted');
  });

  it('delivers each record once when two gateway instances share one database', async () => {
    const second = await buildSystem({
      database: gatewayDb,
      masterKey,
      logger: createLogger('silent'),
      remotePmh: {
        client: new RemotePmhClient({
          baseUrl: pmhUrl,
          dispatcher,
          timeoutMs: 5000,
          breaker: new CircuitBreaker(),
        }),
        token: (tenant, business) => tokens.get(`${tenant}:${business}`),
        batchSize: 25,
        ratePerSecond: 1000,
        statusCacheMs: 0,
      },
    });
    const t = await pair();
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await call('/api/v1/subjects', t.gatewayToken, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(Array.from({ length: 30 }, () => record())),
      });
      ids.push(((await res.json()) as { submissionId: string }).submissionId);
    }
    const drain = async (system: typeof gateway) => {
      for (let i = 0; i < 500; i++) {
        if (!(await system.dispatcher?.processNext())) {
          const status = await system.outboxStatus();
          if (!status || status.depth === 0) return;
          await new Promise((r) => setTimeout(r, 10));
        }
      }
    };
    await Promise.all([drain(gateway), drain(second)]);
    for (const id of ids) {
      const v = (await (await call(`/api/v1/submissions/${id}`, t.gatewayToken)).json()) as {
        counts: Record<string, number>;
      };
      expect(v.counts.accepted, `submission ${id}`).toBe(30);
    }
    const [applied] = await queryRows<{ n: number }>(
      pmh.database.db,
      sql`select coalesce(sum(record_count), 0)::int as n from hub.submissions where tenant_code = ${t.municipalityCode}`,
    );
    expect(applied?.n, 'each record applied once at PMH').toBe(180);
  });

  it('answers the operations the public API lacks with a clear problem, and does not offer the local hub', async () => {
    const t = await pair();
    const flags = await call(`/api/v1/subjects/${crypto.randomUUID()}/control-flags`, t.gatewayToken, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ isNotDisclosed: true }),
    });
    expect(flags.status).toBe(501);
    expect(((await flags.json()) as { type: string }).type).toBe('/problems/not-available-in-remote-mode');
    const staff = await createClient(gatewayDb.db, {
      name: 'disclosure desk',
      tenantCode: t.municipalityCode,
      businessId: t.businessId,
      scopes: [SCOPES.read, SCOPES.myNumberView],
    });
    const history = await call(`/api/v1/subjects/${crypto.randomUUID()}/access-history`, staff.token);
    expect(history.status, 'PMH keeps the access log').toBe(501);
    expect((await call('/pmh/v1/registration-tasks', t.gatewayToken, { method: 'POST' })).status).toBe(404);
    const metrics = await (await gateway.app.request('/metrics')).text();
    expect(metrics).toMatch(/^pmh_outbox_depth \d+$/m);
    expect(metrics).toMatch(/^pmh_outbox_records\{state="accepted"\} \d+$/m);
  });
});

const url = process.env.DATABASE_URL;

describe('a remote-mode gateway killed with SIGKILL mid-dispatch', () => {
  it.skipIf(!url)(
    'delivers every record exactly once after a restart (PostgreSQL only)',
    async () => {
      const name = `remote_${randomBytes(5).toString('hex')}`;
      const admin = postgres(url as string, { max: 1, onnotice: () => {} });
      await admin.unsafe(`create database ${name}`);
      const target = new URL(url as string);
      target.pathname = `/${name}`;
      const db = postgres(target.toString(), { max: 2, onnotice: () => {} });
      const dir = await mkdtemp(path.join(tmpdir(), 'pmh-remote-'));
      afterAll(async () => {
        answerDelayMs = 0;
        await db.end();
        await admin.unsafe(`drop database if exists ${name} with (force)`);
        await admin.end();
        await rm(dir, { recursive: true, force: true });
      });

      // The child gateway seeds demo tenant 130001; PMH gets a client for the same tenant and business.
      const probe = await startServer({ DATA_DIR: dir, DATABASE_URL: target.toString() });
      await probe.stop();
      const creds = JSON.parse(await readFile(path.join(dir, 'demo-credentials.json'), 'utf8')) as {
        tenants: { municipalityCode: string; businessId: string; token: string }[];
      };
      const tokyo = creds.tenants.find((x) => x.municipalityCode === '130001');
      if (!tokyo) throw new Error('no demo tenant 130001');
      await ensureTenant(pmh.database.db, '130001', '東京都');
      const atPmh = await createClient(pmh.database.db, {
        name: 'gateway',
        tenantCode: '130001',
        businessId: tokyo.businessId,
        scopes: [SCOPES.register, SCOPES.read],
      });
      const tokenFile = path.join(dir, 'pmh.tokens');
      await writeFile(tokenFile, JSON.stringify({ [`130001:${tokyo.businessId}`]: atPmh.token }), {
        mode: 0o600,
      });
      const env = {
        DATA_DIR: dir,
        DATABASE_URL: target.toString(),
        PMH_MODE: 'remote',
        PMH_BASE_URL: pmhUrl,
        PMH_TOKEN_FILE: tokenFile,
        PMH_BATCH_SIZE: '20',
        PMH_RATE_PER_SECOND: '15',
        PMH_RETRY_BASE_MS: '20',
        PMH_RETRY_MAX_MS: '200',
        PMH_TIMEOUT_MS: '2000',
        PMH_LEASE_MS: '3000',
      };
      answerDelayMs = 150;

      const TOTAL = 600;
      const first = await startServer(env);
      for (let i = 0; i < TOTAL / 100; i++) {
        const res = await fetch(`${first.url}/api/v1/subjects`, {
          method: 'POST',
          headers: { authorization: `Bearer ${tokyo.token}`, 'content-type': 'application/json' },
          body: JSON.stringify(Array.from({ length: 100 }, () => record())),
        });
        expect(res.status).toBe(202);
      }
      // Kill while a batch is in flight: PMH has applied it, the gateway has no answer yet (PMH
      // holds that answer until after the kill, so the kill cannot miss the batch; its messages
      // are still `queued` in the open batch — `sent` is set only once an answer arrives).
      const counts = async () => {
        const [row] = await db<{ accepted: number; sent: number }[]>`
          select count(*) filter (where state = 'accepted')::int as accepted,
                 count(*) filter (where state = 'queued' and batch_id is not null)::int as sent
            from outbox.messages`;
        return { accepted: row?.accepted ?? 0, sent: row?.sent ?? 0 };
      };
      for (let i = 0; i < 3000 && (await counts()).accepted < 40; i++)
        await new Promise((r) => setTimeout(r, 5));
      let release: () => void = () => {};
      await new Promise<void>((applied) => {
        holdNext = { applied, release: new Promise<void>((r) => (release = r)) };
      });
      const { accepted: acceptedAtKill, sent: inFlight } = await counts();
      await first.stop('SIGKILL');
      release();
      expect(acceptedAtKill, 'the kill landed mid-dispatch').toBeGreaterThan(0);
      expect(inFlight, 'a batch was in flight at the kill').toBeGreaterThan(0);
      expect(acceptedAtKill).toBeLessThan(TOTAL);
      const [openBatches] = await db<
        { n: number }[]
      >`select count(*)::int as n from outbox.batches where state = 'open'`;
      expect(openBatches?.n, 'the open batch is left for the restart').toBe(1);

      const second = await startServer(env);
      try {
        let open = TOTAL;
        for (let i = 0; i < 600 && open > 0; i++) {
          await new Promise((r) => setTimeout(r, 100));
          const [row] = await db<
            { n: number }[]
          >`select count(*)::int as n from outbox.messages where state <> 'accepted'`;
          open = row?.n ?? 0;
        }
        expect(open, 'every record accepted').toBe(0);
      } finally {
        await second.stop();
      }
      // Exactly once at PMH: every record applied by one batch, none applied a second time.
      const [applied] = await queryRows<{ n: number }>(
        pmh.database.db,
        sql`select coalesce(sum(record_count), 0)::int as n from hub.submissions where tenant_code = '130001'`,
      );
      expect(applied?.n, 'records applied at PMH').toBe(TOTAL);
      const [again] = await queryRows<{ n: number }>(
        pmh.database.db,
        sql`select count(*)::int as n from audit.entries where tenant_code = '130001' and action = 'subject.unchanged'`,
      );
      expect(again?.n, 'no record applied twice').toBe(0);
      const [gw] = await db<{ n: number; batches: number }[]>`
        select count(*)::int as n, count(distinct batch_id)::int as batches from outbox.messages`;
      expect(gw?.n).toBe(TOTAL);

      // Reconciliation agrees: every record sent is held by PMH (one line per record with --all).
      // (asynchronously: PMH answers from this very process)
      const cli = await promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', path.resolve('src/gateway/reconcile-cli.ts'), '--tenant', '130001', '--all'],
        { env: { ...process.env, ...env, PMH_RATE_PER_SECOND: '2000' }, encoding: 'utf8', timeout: 120_000 },
      );
      const lines = cli.stdout.trim().split(/\r?\n/);
      expect(lines).toHaveLength(TOTAL + 1);
      const cells = lines.slice(1).map((l) => l.split(','));
      expect(
        cells
          .filter((c) => c[6] !== 'accepted' || c[9] !== 'present' || c[10] !== '')
          .map((c) => c.join(',')),
      ).toEqual([]);
    },
    180_000,
  );
});
