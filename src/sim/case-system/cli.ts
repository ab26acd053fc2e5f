/**
 * `npm run sim:case-system -- --subjects 100000 [--encoding cp932|utf-8] [--bad 5] [--seed 1]
 * [--reference-date 2026-11-30] [--url http://127.0.0.1:3000] [--token T | --tenant 130001]
 * [--file out.csv] [--keep]`
 *
 * Writes a linkage file for a synthetic population, uploads it to the gateway, follows its
 * processing and checks that exactly the planted bad rows were rejected (exit 0), else exit 1;
 * exit 2 on a usage error. `--url` defaults to http://HOST:PORT of the environment. The logic
 * lives in ./upload-client.js.
 */
import { runCli } from '../cli/index.js';
import { CASE_SYSTEM_CLI, runCaseSystem } from './upload-client.js';

process.exitCode = await runCli(CASE_SYSTEM_CLI, (options, io) =>
  runCaseSystem(options, { stdout: io.stdout, stderr: io.stderr, env: io.env }),
);
