/**
 * `npm run sim:portal -- --card C00000000012 [--index 12] [--date 2026-11-30]
 * [--url http://127.0.0.1:3000] [--insurer-url http://127.0.0.1:3001]`
 *
 * The My Number Portal against the running demo (seed ㉘): on a card's first use it links a
 * new PMH仮名識別子 and keeps only that (in DATA_DIR/portal-store.json), then prints the
 * resident's own entitlements. `--url` and `--insurer-url` default to HOST, PORT and
 * INSURER_PORT of the environment. Exit 0 ok, 1 failure, 2 usage error.
 */
import path from 'node:path';
import { loadEnv } from '../../config/env.js';
import { type CliIo, runCli } from '../cli/index.js';
import { demoHint, describeFailure, entitlementsOf, formatEntitlementsTable } from '../clinic/index.js';
import { DemoDataError, demoSimulators, visitPortal } from '../demo/index.js';
import { overHttp } from '../http/index.js';
import { PORTAL_CLI, type PortalCliOptions } from './args.js';

async function main(options: PortalCliOptions, io: CliIo): Promise<number> {
  const env = loadEnv(io.env);
  const { card, date } = options;
  const storeFile = path.join(env.DATA_DIR, 'portal-store.json');
  const sims = demoSimulators({
    dataDir: env.DATA_DIR,
    hub: overHttp(options.url),
    insurer: overHttp(options.insurerUrl),
    ...(env.LINKAGE_KEY_EPOCHS[0] ? { epoch: env.LINKAGE_KEY_EPOCHS[0] } : {}),
    ...(env.INSURER_TOKEN ? { insurerToken: env.INSURER_TOKEN } : {}),
  });
  io.stderr.write(`My Number Portal — card ${card}, date ${date}\n`);
  try {
    const visit = await visitPortal(sims, card, date);
    if (visit.firstUse) {
      const pmhId = await sims.eligibility.pmhIdForCard(card);
      const clean = !pmhId || !sims.portalStore.dump().includes(pmhId);
      io.stdout.write(
        'first use: created a new PMH仮名識別子 (pseudonym) and linked it at the hub with the card serial and PMH-ID; the portal then forgot the PMH-ID\n',
      );
      io.stdout.write(
        `the portal store (${storeFile}) now holds only card serial → pseudonym${clean ? ' (checked: no PMH-ID in it)' : ' — UNEXPECTED: it contains the PMH-ID'}\n`,
      );
      if (!clean) return 1;
    } else if (visit.linked) {
      io.stdout.write('returning resident: used the pseudonym linked on first use (no PMH-ID involved)\n');
    } else {
      io.stdout.write(
        'no pseudonym linked: the card holder has no PMH-ID (not registered, not numbered yet, or the cross-check failed)\n',
      );
    }
    const hint = visit.entitlements.length === 0 ? demoHint(card, date) : undefined;
    if (hint) io.stderr.write(`note: ${hint}\n`);
    io.stdout.write(`request id ${visit.requestId}\n\n${formatEntitlementsTable(entitlementsOf(visit))}`);
    return 0;
  } catch (error) {
    io.stderr.write(`error: ${describeFailure(error, `${options.url} or ${options.insurerUrl}`)}\n`);
    return 1;
  }
}

process.exitCode = await runCli(PORTAL_CLI, main, { expected: [DemoDataError] });
