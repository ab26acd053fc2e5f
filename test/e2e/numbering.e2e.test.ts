import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { writeLinkageFile } from '../../src/sim/case-system/linkage-file.js';
import { freePort, startServer } from './server.js';

const url = process.env.DATABASE_URL;
const PEOPLE = 3000;
const MISMATCH_EVERY = 100;

async function freshDatabase(admin: postgres.Sql, prefix: string): Promise<string> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  await admin.unsafe(`create database ${name}`);
  const u = new URL(url as string);
  u.pathname = `/${name}`;
  return u.toString();
}

describe('numbering over HTTP, gateway and insurer server as separate processes', () => {
  it.skipIf(!url)(
    'numbers every subject exactly once although the insurer server is killed mid-run (PostgreSQL only)',
    async () => {
      const admin = postgres(url as string, { max: 1, onnotice: () => {} });
      const gatewayDbUrl = await freshDatabase(admin, 'gw');
      const insurerDbUrl = await freshDatabase(admin, 'ins');
      const gatewayDb = postgres(gatewayDbUrl, { max: 2, onnotice: () => {} });
      const insurerDb = postgres(insurerDbUrl, { max: 2, onnotice: () => {} });
      const dir = await mkdtemp(path.join(tmpdir(), 'pmh-numbering-'));
      afterAll(async () => {
        await gatewayDb.end();
        await insurerDb.end();
        await admin.end();
        await rm(dir, { recursive: true, force: true });
      });
      const token = randomBytes(24).toString('base64url');
      const insurerPort = await freePort();
      const insurerEnv = {
        DATABASE_URL: insurerDbUrl,
        DATA_DIR: path.join(dir, 'insurer'),
        INSURER_TOKEN: token,
        INSURED_PEOPLE: String(PEOPLE),
        INSURED_MISMATCH_EVERY: String(MISMATCH_EVERY),
      };
      const insurerOptions = {
        entry: 'src/intermediate/insurer/main.ts',
        port: insurerPort,
        portVariable: 'INSURER_PORT',
        readyPath: '/healthz',
      };
      let insurer = await startServer(insurerEnv, insurerOptions);
      const gateway = await startServer({
        DATABASE_URL: gatewayDbUrl,
        DATA_DIR: path.join(dir, 'gateway'),
        DEMO_INSURED: '0',
        NUMBERING_URL: `http://127.0.0.1:${insurerPort}`,
        INSURER_TOKEN: token,
        NUMBERING_BATCH_SIZE: '100',
        NUMBERING_RETRY_BASE_MS: '200',
        NUMBERING_RETRY_MAX_MS: '1000',
        NUMBERING_MAX_ATTEMPTS: '1000',
        NUMBERING_BREAKER_OPEN_MS: '500',
      });
      try {
        const file = path.join(dir, 'renkei.csv');
        await writeLinkageFile({ path: file, subjects: PEOPLE, seed: 1, encoding: 'utf-8' });
        const up = await fetch(`${gateway.url}/api/v1/linkage-files?fileName=renkei.csv`, {
          method: 'POST',
          headers: { authorization: `Bearer ${gateway.token()}`, 'content-type': 'text/csv' },
          body: (await import('node:fs')).readFileSync(file),
        });
        expect(up.status).toBe(202);

        let killed = false;
        for (let i = 0; i < 3000 && !killed; i++) {
          const [row] = await gatewayDb<
            { n: number }[]
          >`select count(*)::int as n from hub.subjects where pmh_id is not null`;
          if ((row?.n ?? 0) > 0) {
            insurer.child.kill('SIGKILL');
            killed = true;
          } else await new Promise((r) => setTimeout(r, 20));
        }
        expect(killed, 'some subjects were numbered before the kill').toBe(true);
        await insurer.stop('SIGKILL');
        await new Promise((r) => setTimeout(r, 1500));
        insurer = await startServer({ ...insurerEnv, INSURED_PEOPLE: '0' }, insurerOptions);

        let open = PEOPLE;
        for (let i = 0; i < 900 && open > 0; i++) {
          await new Promise((r) => setTimeout(r, 200));
          const [row] = await gatewayDb<{ n: number }[]>`
            select (select count(*) from hub.numbering_queue)::int
                 + (select count(*) from hub.subjects where numbering_status in ('pending', 'retrying'))::int as n`;
          const [subjects] = await gatewayDb<{ n: number }[]>`select count(*)::int as n from hub.subjects`;
          open = (row?.n ?? 0) + (PEOPLE - (subjects?.n ?? 0));
        }
        expect(open, 'every subject reached a final numbering state').toBe(0);

        const states = await gatewayDb<{ numbering_status: string; n: number }[]>`
          select numbering_status, count(*)::int as n from hub.subjects group by 1 order by 1`;
        const mismatches = PEOPLE / MISMATCH_EVERY;
        expect(states).toEqual([
          { numbering_status: 'cross-check-failed', n: mismatches },
          { numbering_status: 'numbered', n: PEOPLE - mismatches },
        ]);
        const [hub] = await gatewayDb<{ distinct_ids: number }[]>`
          select count(distinct pmh_id)::int as distinct_ids from hub.subjects where pmh_id is not null`;
        const [ins] = await insurerDb<{ numbered: number; links: number }[]>`
          select (select count(distinct binding_number) from insurer.eligibility_links)::int as numbered,
                 (select count(*) from insurer.eligibility_links)::int as links`;
        expect(hub?.distinct_ids).toBe(PEOPLE - mismatches);
        expect(ins, 'each person numbered once, one link each').toEqual({
          numbered: PEOPLE - mismatches,
          links: PEOPLE - mismatches,
        });
        const [suspended] = await gatewayDb<{ n: number }[]>`
          select count(*)::int as n from hub.subjects where viewing_suspended and numbering_status = 'cross-check-failed'`;
        expect(suspended?.n).toBe(mismatches);
      } finally {
        await gateway.stop();
        await insurer.stop();
      }
    },
  );
});
