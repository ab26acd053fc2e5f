/**
 * `npm run sim:case-system -- --subjects 100000 [--encoding cp932|utf-8] [--bad 5] [--seed 1]
 * [--url http://127.0.0.1:3000] [--token T | --tenant 130001] [--file out.csv] [--keep]`
 *
 * Writes a linkage file for a synthetic population, uploads it to the gateway, follows its
 * processing and checks that exactly the planted bad rows were rejected (exit 0), else exit 1;
 * exit 2 on a usage error. The logic lives in ./upload-client.js.
 */
import { parseCliArgs, runCaseSystem, USAGE, UsageError } from './upload-client.js';

try {
  const options = parseCliArgs(process.argv.slice(2));
  if (options.help) process.stdout.write(USAGE);
  else
    process.exitCode = await runCaseSystem(options, {
      stdout: process.stdout,
      stderr: process.stderr,
      env: process.env,
    });
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  process.stderr.write(`error: ${error.message}\n\n${USAGE}`);
  process.exitCode = 2;
}
