/** What every benchmark needs: fresh databases on the throwaway server, free ports, child processes. */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import postgres from 'postgres';
import { request } from 'undici';
import { socketTarget } from '../src/db/socket-target.js';

/**
 * A postgres.js client for a bench URL, which may name PostgreSQL's Unix-domain socket
 * (`BENCH_PG_SOCKET=1`; see {@link benchDatabases}).
 */
export function pgClient(url: string, options: postgres.Options<Record<string, never>> = {}): postgres.Sql {
  const { url: plain, path } = socketTarget(url);
  return postgres(plain, { onnotice: () => {}, ...options, ...(path ? { path } : {}) });
}

/**
 * Fresh databases on the server of `DATABASE_URL`, all dropped by `dropAll`. With
 * `BENCH_PG_SOCKET=1` (and the throwaway server's `PGROOT`), their URLs name the server's
 * Unix-domain socket instead of loopback TCP, for every server under test alike.
 *
 * @example
 * const dbs = benchDatabases('bench:ingest'); const url = await dbs.fresh('bench_copy'); … await dbs.dropAll();
 */
export function benchDatabases(script: string) {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error(`DATABASE_URL is required (npm run ${script} starts a throwaway PostgreSQL)`);
  const admin = pgClient(url, { max: 1 });
  const socketDir = process.env.BENCH_PG_SOCKET === '1' ? process.env.PGROOT : undefined;
  if (process.env.BENCH_PG_SOCKET === '1' && !socketDir)
    throw new Error('BENCH_PG_SOCKET=1 needs the throwaway server (PGROOT): leave DATABASE_URL unset');
  const created: string[] = [];
  return {
    async fresh(prefix: string): Promise<string> {
      const name = `${prefix}_${randomBytes(4).toString('hex')}`;
      await admin.unsafe(`create database ${name}`);
      created.push(name);
      const u = new URL(url);
      if (socketDir)
        return `postgres://${u.username}@/${name}?host=${encodeURIComponent(socketDir)}&port=${u.port || 5432}`;
      u.pathname = `/${name}`;
      return u.toString();
    },
    async dropAll(): Promise<void> {
      for (const name of created)
        await admin.unsafe(`drop database if exists ${name} with (force)`).catch(() => {});
      await admin.end();
    },
  };
}

/**
 * The node flags the gateway runs with as deployed (those of `npm run start:prod` in
 * package.json, e.g. `--single-threaded-gc`), then `BENCH_NODE_FLAGS` (e.g. `--cpu-prof`):
 * a bench measures the gateway as it is run.
 *
 * @example
 * spawn(process.execPath, [...gatewayNodeFlags(), 'dist/src/gateway/main.js']);
 */
export function gatewayNodeFlags(): string[] {
  const deployed = startProd().filter((t) => t.startsWith('--'));
  return [...deployed, ...benchNodeFlags()];
}

/**
 * The environment `npm run start:prod` sets before node (glibc's malloc settings), under the
 * bench's own environment: a bench measures the gateway as it is run, and a variable set for
 * the bench wins.
 *
 * @example
 * spawn(process.execPath, [...gatewayNodeFlags(), 'dist/src/gateway/main.js'], { env: { ...gatewayEnv(), PORT } });
 */
export function gatewayEnv(): Record<string, string | undefined> {
  const env: Record<string, string> = {};
  for (const token of startProd()) {
    const m = /^([A-Z_][A-Z0-9_]*)=(\S*)$/.exec(token);
    if (!m) break;
    env[m[1] as string] = m[2] as string;
  }
  return { ...env, ...process.env };
}

/** The words of `npm run start:prod` in package.json. */
function startProd(): string[] {
  const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> })
    .scripts;
  return (scripts['start:prod'] ?? '').split(/\s+/);
}

/** Extra node flags for the servers under test (`BENCH_NODE_FLAGS`, e.g. `--cpu-prof`). */
export function benchNodeFlags(): string[] {
  return (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
}

/** Busy and total jiffies of the whole host (all cores), from /proc/stat. */
export function hostCpu(): { busy: number; total: number } {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '')
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

/** A port the OS just handed out as free. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Waits until `probe` answers 200 (or the child exits, or the time is up). */
export async function waitReady(probe: string, child?: ChildProcess, timeoutMs = 120_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child && child.exitCode !== null) break;
    try {
      const res = await request(probe, { headersTimeout: 2000, bodyTimeout: 2000 });
      await res.body.dump();
      if (res.statusCode === 200) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${probe} did not become ready${child ? ` (exit code ${child.exitCode})` : ''}`);
}

/** Stops a child with SIGTERM (SIGKILL after 10 s) and waits for it. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
