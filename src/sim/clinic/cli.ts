/**
 * `npm run sim:clinic -- --card C00000000012 [--index 12] [--institution 1312345679]
 * [--date 2026-11-30] [--fhir] [--no-consent] [--url http://127.0.0.1:3000]
 * [--insurer-url http://127.0.0.1:3001] [--replay]`
 *
 * A clinic terminal against the running demo (seed ㉙): prints the card holder's
 * entitlements as a table (or the FHIR Bundle), or with --replay shows that a linkage key
 * works once only. `--url` and `--insurer-url` default to HOST, PORT and INSURER_PORT of the
 * environment. Exit 0 ok, 1 failure, 2 usage error. The logic lives in ./clinic.js.
 */
import { loadEnv } from '../../config/env.js';
import { runCli } from '../cli/index.js';
import { DemoDataError, demoSimulators } from '../demo/index.js';
import { overHttp } from '../http/index.js';
import { CLINIC_CLI, runClinic } from './clinic.js';

process.exitCode = await runCli(
  CLINIC_CLI,
  (options, io) => {
    const env = loadEnv(io.env);
    const { eligibility } = demoSimulators({
      dataDir: env.DATA_DIR,
      hub: overHttp(options.url),
      insurer: overHttp(options.insurerUrl),
      ...(env.LINKAGE_KEY_EPOCHS[0] ? { epoch: env.LINKAGE_KEY_EPOCHS[0] } : {}),
      ...(env.INSURER_TOKEN ? { insurerToken: env.INSURER_TOKEN } : {}),
    });
    return runClinic(options, eligibility, io);
  },
  { expected: [DemoDataError] },
);
