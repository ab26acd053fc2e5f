/**
 * `npm run pmh:reconcile -- [--tenant 130001] [--since 2026-11-01] [--all] [--no-remote]`
 * `npm run pmh:reconcile -- --requeue-given-up --operator <name> [--tenant 130001]`
 *
 * Prints, as CSV on stdout, every record the case system sent that did not end as it should
 * at PMH (see `reconcile`). Reads the gateway's database (DATABASE_URL or DATA_DIR; with
 * PGlite, stop the gateway first: one process at a time) and, unless --no-remote, PMH itself
 * through PMH_BASE_URL with the gateway's credentials and rate limit. With
 * --requeue-given-up it queues given-up records again instead (audited under --operator).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadEnv } from '../config/env.js';
import { failureMessage } from '../config/errors.js';
import { openDatabase } from '../db/client.js';
import { runMigrations } from '../db/migrate.js';
import { TokenBucket } from './http/token-bucket.js';
import { reconcile } from './intake/outbox.reconcile.js';
import { requeueGivenUp } from './intake/outbox.service.js';
import { remotePmhFromEnv } from './remote-config.js';
import { isOwnSubject } from './remote-hub.js';

const USAGE = [
  'usage: npm run pmh:reconcile -- [--tenant <code>] [--since <ISO date>] [--all] [--no-remote]',
  '       npm run pmh:reconcile -- --requeue-given-up --operator <name> [--tenant <code>]',
].join('\n');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      tenant: { type: 'string' },
      since: { type: 'string' },
      all: { type: 'boolean', default: false },
      'no-remote': { type: 'boolean', default: false },
      'requeue-given-up': { type: 'boolean', default: false },
      operator: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (values.tenant && !/^[0-9]{6}$/.test(values.tenant))
    throw new UsageError('--tenant takes a 6-digit code');
  const since = values.since ? new Date(values.since) : undefined;
  if (since && Number.isNaN(since.getTime())) throw new UsageError('--since takes an ISO date');
  if (values['requeue-given-up'] && !values.operator?.trim())
    throw new UsageError('--requeue-given-up needs --operator <name> (it is audited)');
  const env = loadEnv();
  const remote = values['no-remote'] || values['requeue-given-up'] ? undefined : remotePmhFromEnv(env);
  const database = await openDatabase(
    env.DATABASE_URL ? { url: env.DATABASE_URL } : { dataDir: path.join(env.DATA_DIR, 'pglite') },
  );
  try {
    await runMigrations(database);
    if (values['requeue-given-up']) {
      const counts = await requeueGivenUp(
        database.db,
        { ...(values.tenant ? { tenantCode: values.tenant } : {}), operator: values.operator?.trim() ?? '' },
        new Date(),
      );
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      process.stderr.write(`queued again: ${total} given-up records ${JSON.stringify(counts)}\n`);
      return;
    }
    const rate = new TokenBucket({ ratePerSecond: env.PMH_RATE_PER_SECOND });
    const probe = remote
      ? async (
          tenant: string,
          business: string,
          subjectId: string,
        ): Promise<'present' | 'absent' | 'unreadable'> => {
          await rate.take();
          const token = remote.options.token(tenant, business);
          const reader = remote.options.reader ?? remote.options.client;
          const answer = await reader.getSubjectRecord({ ...(token ? { token } : {}), subjectId });
          if (answer.kind === 'unavailable') return 'unreadable';
          return answer.kind === 'found' && isOwnSubject(answer.subject, tenant, business)
            ? 'present'
            : 'absent';
        }
      : undefined;
    for await (const line of reconcile(database.db, {
      ...(values.tenant ? { tenantCode: values.tenant } : {}),
      ...(since ? { since } : {}),
      all: values.all,
      ...(probe ? { probe } : {}),
    })) {
      if (!process.stdout.write(line)) await new Promise((r) => process.stdout.once('drain', r));
    }
  } finally {
    await remote?.close();
    await database.close();
  }
}

class UsageError extends Error {}

main().catch((err: unknown) => {
  if (err instanceof UsageError) process.stderr.write(`${err.message}\n${USAGE}\n`);
  else process.stderr.write(`${failureMessage(err, 'reconciliation failed')}\n`);
  process.exit(1);
});
