/**
 * The baseline of bench:lookup — the plainest lookup server over the same table: Hono on
 * @hono/node-server, postgres.js, one primary-key-ish query per request, JSON out. No
 * authentication, no decryption, no audit. Started by bench/lookup.ts as its own process:
 *
 *   DATABASE_URL=postgres://… PORT=4000 node --import tsx bench/lookup-baseline.ts
 *
 * GET /e/:pmhId → the person's hub.entitlement_index rows (the sealed face as base64, so
 * that JSON does not spell a Buffer out as an array of numbers). GET /healthz → ok.
 *
 * BASELINE_PROCESSES=n (default 1) runs it as a node cluster of n processes sharing the port,
 * each with its own pool: a reference for a gateway that uses more than one core.
 */
import cluster from 'node:cluster';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { pgClient } from './support.js';

const processes = Number(process.env.BASELINE_PROCESSES ?? 1);
if (processes > 1 && cluster.isPrimary) {
  for (let i = 0; i < processes; i++) cluster.fork();
  const stop = () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  await serveBaseline();
}

async function serveBaseline(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is required');
  const port = Number(process.env.PORT ?? 4000);
  // The gateway's pool is 10 connections (src/db/client.ts); the baseline gets the same.
  const sql = pgClient(url, { max: Number(process.env.PG_POOL ?? 10) });

  interface Row {
    entitlement_id: string;
    pmh_id: string;
    tenant_code: string;
    subject_id: string;
    sealed: Buffer;
    is_not_disclosed: boolean;
    viewing_suspended: boolean;
    valid_from: Date;
    valid_to: Date | null;
    forced_expiry_date: Date | null;
    updated_at: Date;
  }

  const app = new Hono();
  app.get('/healthz', (c) => c.text('ok'));
  app.get('/e/:pmhId', async (c) => {
    const rows = await sql<Row[]>`select * from hub.entitlement_index where pmh_id = ${c.req.param('pmhId')}`;
    return c.json({ entitlements: rows.map((r) => ({ ...r, sealed: r.sealed.toString('base64') })) });
  });

  const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' });
  const shutdown = () => {
    server.close();
    void sql.end({ timeout: 2 }).finally(() => process.exit(0));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}
