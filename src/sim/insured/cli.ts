/**
 * sim:insured — loads the synthetic population into the insurer intermediate server's store.
 *
 *   npm run sim:insured -- --people 1000000 [--seed 1] [--offset 0] [--mismatch-every 50] [--help]
 *
 * On PostgreSQL (DATABASE_URL) it bulk-loads by COPY through a staging table; on PGlite
 * (DATA_DIR/pglite — stop the gateway first, PGlite allows one process) through the service.
 */
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { loadEnv } from '../../config/env.js';
import { KeyRing, masterKeyFor } from '../../crypto/index.js';
import { openDatabase } from '../../db/client.js';
import { runMigrations } from '../../db/migrate.js';
import { type InsuredPersonInput, InsurerService } from '../../intermediate/insurer/index.js';
import { type CliIo, runCli } from '../cli/index.js';
import { INSURED_CLI, type InsuredCliOptions } from './args.js';
import { insuredPersons, loadInsured } from './registry.js';

async function main({ people, seed, offset, mismatchEvery }: InsuredCliOptions, io: CliIo): Promise<number> {
  const env = loadEnv(io.env);
  const database = await openDatabase(
    env.DATABASE_URL ? { url: env.DATABASE_URL } : { dataDir: path.join(env.DATA_DIR, 'pglite') },
  );
  await runMigrations(database);
  const keyRing = await KeyRing.open(database.db, (await masterKeyFor(database.db, env.MASTER_KEY_FILE)).key);
  const insurer = new InsurerService({ db: database.db, keyRing, clock: () => new Date() });
  const opts = { seed, size: people, offset, ...(mismatchEvery > 0 ? { mismatchEvery } : {}) };
  const started = performance.now();
  const progress = (done: number) =>
    io.stderr.write(`\r${done.toLocaleString('en')} / ${people.toLocaleString('en')}`);
  let added: number;
  if (database.sql) {
    const sql = await database.sql.reserve();
    await sql`create temp table insured_staging (id uuid, my_number_index bytea, sealed bytea, binding_number text, insurer_number text)`;
    const copy = await sql`copy insured_staging from stdin`.writable();
    async function* lines(): AsyncGenerator<string> {
      let chunk: InsuredPersonInput[] = [];
      let done = 0;
      const flush = async () => {
        const rows = await insurer.sealPersons(chunk);
        done += chunk.length;
        chunk = [];
        progress(done);
        return rows
          .map(
            (r) =>
              `${r.id}\t\\\\x${r.my_number_index.toString('hex')}\t\\\\x${r.sealed.toString('hex')}\t${r.binding_number}\t${r.insurer_number}\n`,
          )
          .join('');
      };
      for (const p of insuredPersons(opts)) {
        chunk.push(p);
        if (chunk.length === 5000) yield await flush();
      }
      if (chunk.length) yield await flush();
    }
    await pipeline(Readable.from(lines()), copy);
    const result =
      await sql`insert into insurer.insured_persons (id, my_number_index, sealed, binding_number, insurer_number)
                             select * from insured_staging on conflict do nothing`;
    added = result.count;
    sql.release();
  } else {
    added = await loadInsured(insurer, opts, progress);
  }
  io.stderr.write('\n');
  io.stdout.write(
    `loaded ${added.toLocaleString('en')} new insured persons (of ${people.toLocaleString('en')}) in ${((performance.now() - started) / 1000).toFixed(1)} s on ${database.kind}\n`,
  );
  await database.close();
  return 0;
}

process.exitCode = await runCli(INSURED_CLI, main);
