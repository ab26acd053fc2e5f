/**
 * The simulators' shared command-line kit: option parsing, `--help`, one-line usage errors
 * (exit 2), and the gateway and insurer URLs from HOST, PORT and INSURER_PORT.
 *
 * @example import { runCli, parseArgsOrUsage, gatewayUrlFrom } from '../cli/index.js';
 */
export {
  type CliContext,
  type CliIo,
  type CliSpec,
  type ExpectedError,
  gatewayUrlFrom,
  insurerUrlFrom,
  isoDateOption,
  parseArgsOrUsage,
  processIo,
  runCli,
  type SimEnv,
  todayInJapan,
  UsageError,
} from './command-line.js';
