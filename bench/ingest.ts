/**
 * bench:ingest — the real uploadLinkageFile endpoint against a raw COPY of the same bytes.
 *
 *   npm run bench:ingest -- --rows 1000000 [--batch 1000] [--encoding utf-8|shift_jis] [--again] [--renewed] [--moved] [--withdrawn]
 *
 * On PostgreSQL only (a throwaway, durable one is started when DATABASE_URL is unset). The
 * gateway runs as a production deployment would: compiled (`npm run build`), plain node.
 * Prints the COPY time, the ingest time to the last row outcome, their ratio, and the peak
 * RSS of the gateway process. `--again` then uploads the same file a second time (every row
 * `unchanged`: the lookups on a full table), or with `--renewed` the same people with every
 * entitlement renewed and/or `--moved` every person at a new address (every row `updated`), or
 * `--withdrawn` every entitlement withdrawn (every row `deleted`, and every subject with it; each
 * of the three implies `--again`), and prints its time too (peak RSS and CPU are the first
 * upload's).
 */
import { execFileSync, spawn } from 'node:child_process';
import { createReadStream, readFileSync, statSync } from 'node:fs';
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
    rows: { type: 'string', default: '100000' },
    batch: { type: 'string', default: '1000' },
    encoding: { type: 'string', default: 'utf-8' },
    again: { type: 'boolean', default: false },
    renewed: { type: 'boolean', default: false },
    moved: { type: 'boolean', default: false },
    withdrawn: { type: 'boolean', default: false },
  },
});
const rows = Number(values.rows);
const encoding = values.encoding === 'shift_jis' || values.encoding === 'cp932' ? 'shift_jis' : 'utf-8';

const dbs = benchDatabases('bench:ingest');

const dir = await mkdtemp(path.join(tmpdir(), 'bench-ingest-'));
const file = path.join(dir, 'linkage.csv');
try {
  let t = performance.now();
  const written = await writeLinkageFile({ path: file, subjects: rows, seed: 'bench', encoding });
  const bytes = statSync(file).size;
  console.log(
    `generated ${written.rows} rows, ${(bytes / 1e6).toFixed(1)} MB in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );

  const copyUrl = await dbs.fresh('bench_copy');
  const copyDb = pgClient(copyUrl, { max: 1 });
  const columns = toCsvHeader()
    .map((_, i) => `c${i} text`)
    .join(', ');
  await copyDb.unsafe(`create table raw_rows (${columns})`);
  t = performance.now();
  const writable = await copyDb
    .unsafe(
      `copy raw_rows from stdin with (format csv, header true, encoding '${encoding === 'utf-8' ? 'UTF8' : 'SJIS'}')`,
    )
    .writable();
  await pipeline(createReadStream(file), writable);
  const copySeconds = (performance.now() - t) / 1000;
  const [copied] = await copyDb<{ n: number }[]>`select count(*)::int as n from raw_rows`;
  await copyDb.end();
  console.log(
    `COPY: ${copied?.n} rows in ${copySeconds.toFixed(2)} s (${Math.round(rows / copySeconds)} rows/s)`,
  );

  const gatewayUrl = await dbs.fresh('bench_gateway');
  const dataDir = path.join(dir, 'data');
  const port = await freePort();
  execFileSync('npm', ['run', '--silent', 'build'], {
    stdio: 'inherit',
  });
  const child = spawn(process.execPath, [...gatewayNodeFlags(), 'dist/src/gateway/main.js'], {
    env: {
      ...gatewayEnv(),
      DATABASE_URL: gatewayUrl,
      DATA_DIR: dataDir,
      PORT: String(port),
      LOG_LEVEL: 'warn',
      INTAKE_BATCH_SIZE: values.batch,
      INSURER_PORT: '0',
      // Registration only: numbering has its own bench (alongside, it takes ~20 % of the time).
      NUMBERING_WORKER: process.env.NUMBERING_WORKER ?? '0',
    },
    // BENCH_TRACE: the gateway's own output too (e.g. with BENCH_NODE_FLAGS=--trace-gc).
    stdio: ['ignore', process.env.BENCH_TRACE ? 'inherit' : 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  await waitReady(`${base}/readyz`, child);
  const token = (
    JSON.parse(readFileSync(path.join(dataDir, 'demo-credentials.json'), 'utf8')) as {
      tenants: { token: string }[];
    }
  ).tenants[0]?.token;
  const headers = { authorization: `Bearer ${token}` };
  // CPU seconds (user + system) of the gateway process, all its threads.
  const cpuSeconds = () => {
    const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  };
  const cpuBefore = cpuSeconds();
  const host0 = hostCpu();
  const rssMb = () =>
    Math.round(
      Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024,
    );
  const readyRss = rssMb();
  const rssTrace: string[] = [];
  const sampler = setInterval(() => {
    try {
      rssTrace.push(`${((performance.now() - t) / 1000).toFixed(1)}s:${rssMb()}MB`);
    } catch {}
  }, 1000);
  type View = { status: string; processedRows: number; counts: Record<string, number> };
  // Uploads the file and waits for its last row outcome: seconds to stored, seconds to done.
  const ingest = async (csv = file): Promise<{ stored: number; done: number; view: View }> => {
    const start = performance.now();
    const up = await request(`${base}/api/v1/linkage-files?fileName=bench.csv`, {
      method: 'POST',
      headers: { ...headers, 'content-type': `text/csv; charset=${encoding}` },
      body: createReadStream(csv),
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    const accepted = (await up.body.json()) as { linkageFileId: string };
    if (up.statusCode !== 202) throw new Error(`upload failed: ${up.statusCode} ${JSON.stringify(accepted)}`);
    const stored = (performance.now() - start) / 1000;
    let view: View = { status: '', processedRows: 0, counts: {} };
    while (view.status !== 'completed' && view.status !== 'failed') {
      await new Promise((r) => setTimeout(r, 250));
      const res = await request(`${base}/api/v1/linkage-files/${accepted.linkageFileId}?limit=0`, {
        headers,
      });
      view = (await res.body.json()) as View;
    }
    return { stored, done: (performance.now() - start) / 1000, view };
  };
  t = performance.now();
  const first = await ingest();
  const storedSeconds = first.stored;
  const view = first.view;
  const ingestSeconds = first.done;
  clearInterval(sampler);
  if (process.env.BENCH_TRACE) console.log(`RSS trace: ${rssTrace.join(' ')}`);
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const peakKb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const cpuUsed = cpuSeconds() - cpuBefore;
  const host1 = hostCpu();
  const hostCores = (host1.busy - host0.busy) / ((host1.total - host0.total) / cpus().length);
  // --again: the same file once more, every row `unchanged` (the read path on a full table);
  // --renewed / --moved: the same people, every entitlement renewed / every person at a new
  // address, every row `updated`; --withdrawn: every entitlement withdrawn, every row `deleted`.
  // (Any of the three implies --again.)
  const changed = values.renewed || values.moved || values.withdrawn;
  let againFile = file;
  if (changed) {
    againFile = path.join(dir, 'changed.csv');
    await writeLinkageFile({
      path: againFile,
      subjects: rows,
      seed: 'bench',
      encoding,
      renewals: values.renewed ? 1 : 0,
      moves: values.moved ? 1 : 0,
      withdrawn: values.withdrawn,
    });
  }
  const again = values.again || changed ? await ingest(againFile) : undefined;
  await stopChild(child);
  console.log(`upload stored durably in ${storedSeconds.toFixed(2)} s`);
  console.log(
    `uploadLinkageFile: ${view.processedRows} rows (${JSON.stringify(view.counts)}) in ${ingestSeconds.toFixed(2)} s (${Math.round(rows / ingestSeconds)} rows/s)`,
  );
  console.log(
    `ratio ingest ÷ COPY: ${(ingestSeconds / copySeconds).toFixed(1)}   peak RSS of the gateway: ${Math.round(peakKb / 1024)} MB (${readyRss} MB when ready)`,
  );
  console.log(
    `gateway CPU: ${cpuUsed.toFixed(1)} s (${Math.round((cpuUsed / rows) * 1e6)} µs per row, ${Math.round((cpuUsed / ingestSeconds) * 100)} % of one core); host CPU busy: ${hostCores.toFixed(2)} of ${cpus().length} cores (all processes, PostgreSQL included)`,
  );
  if (again)
    console.log(
      `again (${[values.renewed ? 'renewed' : '', values.moved ? 'moved' : '', values.withdrawn ? 'withdrawn' : ''].filter(Boolean).join(' + ') || 'same file'}): ${again.view.processedRows} rows (${JSON.stringify(again.view.counts)}) in ${again.done.toFixed(2)} s (ratio ${(again.done / copySeconds).toFixed(1)})`,
    );
  console.log(
    `| ${rows.toLocaleString('en')} | ${encoding} | ${values.batch} | ${copySeconds.toFixed(2)} s | ${ingestSeconds.toFixed(2)} s | ${(ingestSeconds / copySeconds).toFixed(1)} | ${Math.round(peakKb / 1024)} MB |`,
  );
} finally {
  await dbs.dropAll();
  await rm(dir, { recursive: true, force: true });
}
