/**
 * `npm run sim:portal -- --card C00000000012 [--index 12] [--date 2025-06-01]
 * [--url http://127.0.0.1:3000] [--insurer-url http://127.0.0.1:3001]`
 *
 * The My Number Portal against the running demo (seed ㉘): on a card's first use it links a
 * new PMH仮名識別子 and keeps only that (in DATA_DIR/portal-store.json), then prints the
 * resident's own entitlements. Exit 0 ok, 1 failure, 2 usage error.
 */
import path from 'node:path';
import { EnvError, loadEnv } from '../../config/env.js';
import {
  cardFromArgs,
  dateFromArgs,
  demoHint,
  describeFailure,
  entitlementsOf,
  formatEntitlementsTable,
  parseArgsOrUsage,
  todayInJapan,
  UsageError,
} from '../clinic/index.js';
import { DemoDataError, demoSimulators, visitPortal } from '../demo/index.js';
import { overHttp } from '../http/index.js';

const USAGE = `usage: npm run sim:portal -- --card C00000000012 [options]

The My Number Portal (seed ㉘): links a pseudonym on a resident's first use, then shows the
resident's own medical-subsidy entitlements.

  --card SERIAL         card certificate serial (C + 11 digits)
  --index N             or the demo population index
  --date YYYY-MM-DD     date (default: today in Japan)
  --url URL             gateway (default http://127.0.0.1:3000)
  --insurer-url URL     insurer intermediate server (default http://127.0.0.1:3001)

Reads demo credentials and keys from DATA_DIR (default ./data).
`;

async function main(): Promise<number> {
  const env = loadEnv();
  const { values } = parseArgsOrUsage({
    options: {
      card: { type: 'string' },
      index: { type: 'string' },
      date: { type: 'string' },
      url: { type: 'string', default: `http://127.0.0.1:${env.PORT}` },
      'insurer-url': { type: 'string', default: `http://127.0.0.1:${env.INSURER_PORT}` },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const card = cardFromArgs(values);
  const date = dateFromArgs(values.date, todayInJapan());
  const storeFile = path.join(env.DATA_DIR, 'portal-store.json');
  const sims = demoSimulators({
    dataDir: env.DATA_DIR,
    hub: overHttp(values.url),
    insurer: overHttp(values['insurer-url']),
    ...(env.LINKAGE_KEY_EPOCHS[0] ? { epoch: env.LINKAGE_KEY_EPOCHS[0] } : {}),
    ...(env.INSURER_TOKEN ? { insurerToken: env.INSURER_TOKEN } : {}),
  });
  process.stderr.write(`My Number Portal — card ${card}, date ${date}\n`);
  try {
    const visit = await visitPortal(sims, card, date);
    if (visit.firstUse) {
      const pmhId = await sims.eligibility.pmhIdForCard(card);
      const clean = !pmhId || !sims.portalStore.dump().includes(pmhId);
      process.stdout.write(
        'first use: created a new PMH仮名識別子 (pseudonym) and linked it at the hub with the card serial and PMH-ID; the portal then forgot the PMH-ID\n',
      );
      process.stdout.write(
        `the portal store (${storeFile}) now holds only card serial → pseudonym${clean ? ' (checked: no PMH-ID in it)' : ' — UNEXPECTED: it contains the PMH-ID'}\n`,
      );
      if (!clean) return 1;
    } else if (visit.linked) {
      process.stdout.write(
        'returning resident: used the pseudonym linked on first use (no PMH-ID involved)\n',
      );
    } else {
      process.stdout.write(
        'no pseudonym linked: the card holder has no PMH-ID (not registered, not numbered yet, or the cross-check failed)\n',
      );
    }
    const hint = visit.entitlements.length === 0 ? demoHint(card, date) : undefined;
    if (hint) process.stderr.write(`note: ${hint}\n`);
    process.stdout.write(
      `request id ${visit.requestId}\n\n${formatEntitlementsTable(entitlementsOf(visit))}`,
    );
    return 0;
  } catch (error) {
    process.stderr.write(`error: ${describeFailure(error, `${values.url} or ${values['insurer-url']}`)}\n`);
    return 1;
  }
}

try {
  process.exitCode = await main();
} catch (error) {
  if (error instanceof UsageError) {
    process.stderr.write(`error: ${error.message}\n\n${USAGE}`);
    process.exitCode = 2;
  } else if (error instanceof EnvError || error instanceof DemoDataError) {
    process.stderr.write(`error: ${error.message}\n`);
    process.exitCode = error instanceof EnvError ? 2 : 1;
  } else throw error;
}
