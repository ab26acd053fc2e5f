/**
 * bench:numbering — PMH-ID numbering end to end over HTTP against a raw COPY of the same rows.
 *
 *   npm run bench:numbering -- --subjects 200000 --registry 1000000 [--batch 3000] [--concurrency 3]
 *
 * On PostgreSQL (a durable throwaway one is started when DATABASE_URL is unset). It loads the
 * insurer registry (sim:insured, COPY), registers the subjects through a linkage file with the
 * numbering worker off, then restarts the gateway with it on and times registered → numbered
 * (cross-check included) over HTTP between two processes: the gateway and the insurer server.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { writeLinkageFile } from '../src/sim/case-system/linkage-file.js';
import { toCsvHeader } from '../src/sim/population/index.js';
import {
  benchDatabases,
  benchNodeFlags,
  freePort,
  gatewayEnv,
  gatewayNodeFlags,
  hostCpu,
  pgClient,
  stopChild,
  waitReady,
} from './support.js';

const { values } = parseArgs({
  options: {
    subjects: { type: 'string', default: '20000' },
    registry: { type: 'string', default: '100000' },
    batch: { type: 'string', default: '3000' },
    concurrency: { type: 'string', default: '3' },
    /** Keep the databases (with a DATABASE_URL of your own), e.g. to EXPLAIN the statements. */
    keep: { type: 'boolean', default: false },
  },
});
const subjects = Number(values.subjects);
const registry = Number(values.registry);
const dbs = benchDatabases('bench:numbering');

const GATEWAY = 'dist/src/gateway/main.js';

/** The gateway with the flags it is deployed with; the insurer server with BENCH_NODE_FLAGS only. */
function start(entry: string, env: Record<string, string>) {
  const flags = entry === GATEWAY ? gatewayNodeFlags() : benchNodeFlags();
  return spawn(process.execPath, [...flags, entry], {
    env: { ...(entry === GATEWAY ? gatewayEnv() : process.env), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
const dir = await mkdtemp(path.join(tmpdir(), 'bench-numbering-'));
try {
  execFileSync('npm', ['run', '--silent', 'build'], {
    stdio: 'inherit',
  });
  const insurerDb = await dbs.fresh('bench_insurer');
  const gatewayDb = await dbs.fresh('bench_gateway');
  const token = randomBytes(24).toString('base64url');
  const insurerDir = path.join(dir, 'insurer');

  let t = performance.now();
  execFileSync(process.execPath, ['dist/src/sim/insured/cli.js', '--people', String(registry)], {
    env: { ...process.env, DATABASE_URL: insurerDb, DATA_DIR: insurerDir },
    stdio: ['ignore', 'inherit', 'ignore'],
  });
  console.log(
    `registry of ${registry} insured persons loaded in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );

  const file = path.join(dir, 'subjects.csv');
  await writeLinkageFile({ path: file, subjects, seed: 1, encoding: 'utf-8' });
  const copyDb = pgClient(await dbs.fresh('bench_copy'), { max: 1 });
  await copyDb.unsafe(
    `create table raw_rows (${toCsvHeader()
      .map((_, i) => `c${i} text`)
      .join(', ')})`,
  );
  t = performance.now();
  await pipeline(
    createReadStream(file),
    await copyDb.unsafe('copy raw_rows from stdin with (format csv, header true)').writable(),
  );
  const copySeconds = (performance.now() - t) / 1000;
  await copyDb.end();
  console.log(`COPY of the ${subjects} subject rows: ${copySeconds.toFixed(2)} s`);

  const insurerPort = await freePort();
  const insurer = start('dist/src/intermediate/insurer/main.js', {
    DATABASE_URL: insurerDb,
    DATA_DIR: insurerDir,
    INSURER_TOKEN: token,
    INSURER_PORT: String(insurerPort),
  });
  await waitReady(`http://127.0.0.1:${insurerPort}/healthz`);

  const gatewayPort = await freePort();
  const gatewayEnv = {
    DATABASE_URL: gatewayDb,
    DATA_DIR: path.join(dir, 'gateway'),
    PORT: String(gatewayPort),
    INSURER_PORT: '0',
    DEMO_INSURED: '0',
    NUMBERING_URL: `http://127.0.0.1:${insurerPort}`,
    INSURER_TOKEN: token,
    NUMBERING_BATCH_SIZE: values.batch,
    NUMBERING_CONCURRENCY: values.concurrency,
  };
  let gateway = start(GATEWAY, { ...gatewayEnv, NUMBERING_WORKER: '0' });
  const base = `http://127.0.0.1:${gatewayPort}`;
  await waitReady(`${base}/readyz`);
  const auth = {
    authorization: `Bearer ${(JSON.parse(readFileSync(path.join(dir, 'gateway', 'demo-credentials.json'), 'utf8')) as { tenants: { token: string }[] }).tenants[0]?.token}`,
  };
  t = performance.now();
  const up = await request(`${base}/api/v1/linkage-files?fileName=bench.csv`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'text/csv; charset=utf-8' },
    body: createReadStream(file),
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  const { linkageFileId } = (await up.body.json()) as { linkageFileId: string };
  for (;;) {
    await new Promise((r) => setTimeout(r, 500));
    const v = (await (
      await request(`${base}/api/v1/linkage-files/${linkageFileId}?limit=0`, { headers: auth })
    ).body.json()) as {
      status: string;
    };
    if (v.status === 'completed' || v.status === 'failed') break;
  }
  console.log(
    `registered ${subjects} subjects in ${((performance.now() - t) / 1000).toFixed(1)} s (numbering off)`,
  );
  await stopChild(gateway);

  const db = pgClient(gatewayDb, { max: 1 });
  gateway = start(GATEWAY, gatewayEnv);
  await waitReady(`${base}/readyz`);
  t = performance.now();
  const cpu0 = hostCpu();
  // Until no subject waits or is in a batch on its way (a claim moves subjects from the queue
  // into a batch row). `exists`, not a count: counting 200,000 queue rows four times a second
  // took a noticeable share of PostgreSQL's time away from the numbering it measures.
  for (let open = true; open; ) {
    await new Promise((r) => setTimeout(r, 250));
    const [row] = await db<{ open: boolean }[]>`
      select exists (select 1 from hub.numbering_queue) or exists (select 1 from hub.numbering_batches) as open`;
    open = row?.open ?? false;
  }
  const seconds = (performance.now() - t) / 1000;
  const cpu1 = hostCpu();
  const cores = (cpu1.busy - cpu0.busy) / ((cpu1.total - cpu0.total) / cpus().length);
  const states = await db<
    { numbering_status: string; n: number }[]
  >`select numbering_status, count(*)::int as n from hub.subjects group by 1`;
  await db.end();
  await stopChild(gateway);
  await stopChild(insurer);
  const rate = subjects / seconds;
  console.log(
    `numbered ${subjects} subjects over HTTP in ${seconds.toFixed(2)} s: ${Math.round(rate)} subjects/s  ${JSON.stringify(states)}`,
  );
  console.log(
    `host CPU busy while numbering: ${cores.toFixed(2)} of ${cpus().length} cores (all processes, other work included)`,
  );
  console.log(`ratio numbering ÷ COPY: ${(seconds / copySeconds).toFixed(1)}  (target ≥ 10,000 subjects/s)`);
  console.log(
    `| ${subjects.toLocaleString('en')} | ${registry.toLocaleString('en')} | ${values.batch} | ${copySeconds.toFixed(2)} s | ${seconds.toFixed(2)} s | ${Math.round(rate).toLocaleString('en')}/s | ${(seconds / copySeconds).toFixed(1)} |`,
  );
} finally {
  if (!values.keep) await dbs.dropAll();
  else process.exit(0);
  await rm(dir, { recursive: true, force: true });
}
