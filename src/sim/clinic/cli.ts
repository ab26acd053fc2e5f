/**
 * `npm run sim:clinic -- --card C00000000012 [--index 12] [--institution 1312345679]
 * [--date 2025-06-01] [--fhir] [--no-consent] [--url http://127.0.0.1:3000]
 * [--insurer-url http://127.0.0.1:3001] [--replay]`
 *
 * A clinic terminal against the running demo (seed ㉙): prints the card holder's
 * entitlements as a table (or the FHIR Bundle), or with --replay shows that a linkage key
 * works once only. Exit 0 ok, 1 failure, 2 usage error. The logic lives in ./clinic.js.
 */
import { EnvError, loadEnv } from '../../config/env.js';
import { DemoDataError, demoSimulators } from '../demo/index.js';
import { overHttp } from '../http/index.js';
import { CLINIC_USAGE, parseClinicArgs, runClinic, todayInJapan, UsageError } from './clinic.js';

try {
  const env = loadEnv();
  const options = parseClinicArgs(process.argv.slice(2), {
    today: todayInJapan(),
    url: `http://127.0.0.1:${env.PORT}`,
    insurerUrl: `http://127.0.0.1:${env.INSURER_PORT}`,
  });
  if (options.help) process.stdout.write(CLINIC_USAGE);
  else {
    const { eligibility } = demoSimulators({
      dataDir: env.DATA_DIR,
      hub: overHttp(options.url),
      insurer: overHttp(options.insurerUrl),
      ...(env.LINKAGE_KEY_EPOCHS[0] ? { epoch: env.LINKAGE_KEY_EPOCHS[0] } : {}),
      ...(env.INSURER_TOKEN ? { insurerToken: env.INSURER_TOKEN } : {}),
    });
    process.exitCode = await runClinic(options, eligibility, process);
  }
} catch (error) {
  if (error instanceof UsageError) {
    process.stderr.write(`error: ${error.message}\n\n${CLINIC_USAGE}`);
    process.exitCode = 2;
  } else if (error instanceof EnvError || error instanceof DemoDataError) {
    process.stderr.write(`error: ${error.message}\n`);
    process.exitCode = error instanceof EnvError ? 2 : 1;
  } else throw error;
}
