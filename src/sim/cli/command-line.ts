/**
 * What every simulator command line (`npm run sim:*`) shares: one way to read options, to
 * answer `--help`, to refuse a mistake (one line, exit 2, never a stack trace), and to find
 * the running gateway and insurer server from the environment (HOST, PORT, INSURER_PORT).
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { EnvError } from '../../config/env.js';
import { OperatorError } from '../../config/errors.js';
import { isIsoDate } from '../../japanese/index.js';

/** Thrown for a bad command line (or a bad PORT/HOST behind a default); the CLI exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Today in Japan (JST), as YYYY-MM-DD. */
export function todayInJapan(now: Date = new Date()): string {
  return new Date(now.getTime() + 9 * 3_600_000).toISOString().slice(0, 10);
}

/** One line for a `parseArgs` error: `unknown option --wat`, `Option '--card <value>' argument missing`. */
function usageMessageOf(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  const text = String(message ?? error);
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const option = /'([^']+)'/.exec(text)?.[1];
    if (option) return `unknown option ${option}`;
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const argument = /'([^']*)'/.exec(text)?.[1];
    if (argument !== undefined) return `unexpected argument ${JSON.stringify(argument)}`;
  }
  return (text.split('\n')[0] ?? text).trim();
}

/**
 * `parseArgs` (strict by default: unknown options and positionals are refused), throwing
 * {@link UsageError} with a one-line message for any mistake.
 *
 * @example
 * const { values } = parseArgsOrUsage({ args, options: { card: { type: 'string' } } });
 */
export function parseArgsOrUsage<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    throw new UsageError(usageMessageOf(error));
  }
}

/** The environment a simulator reads its defaults from (`process.env` in the CLIs). */
export type SimEnv = Readonly<Record<string, string | undefined>>;

/** The host a client connects to for the gateway's HOST: a wildcard bind means this machine. */
function clientHost(host: string | undefined): string {
  const h = host?.trim() || '127.0.0.1';
  if (h === '0.0.0.0') return '127.0.0.1';
  if (h === '::' || h === '[::]') return '[::1]';
  return h.includes(':') && !h.startsWith('[') ? `[${h}]` : h;
}

function portOf(name: 'PORT' | 'INSURER_PORT', value: string | undefined, fallback: number): number {
  if (value === undefined || value.trim() === '') return fallback;
  const text = value.trim();
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65_535)
    throw new UsageError(`${name} must be a port number (0–65535), got ${JSON.stringify(value)}`);
  const flag = name === 'PORT' ? '--url' : '--insurer-url';
  if (Number(text) === 0) throw new UsageError(`${name}=0 names no fixed port: give ${flag}`);
  return Number(text);
}

/**
 * Where the gateway (`npm start`) listens, by the gateway's own rule: `http://HOST:PORT`
 * (HOST default 127.0.0.1, PORT default 3000; a wildcard HOST such as 0.0.0.0 is reached on
 * the loopback address). What `--url` defaults to.
 *
 * @throws UsageError for a PORT that is not a port number, or 0.
 * @example
 * gatewayUrlFrom({ PORT: '3900' }); // 'http://127.0.0.1:3900'
 */
export function gatewayUrlFrom(env: SimEnv): string {
  return `http://${clientHost(env.HOST)}:${portOf('PORT', env.PORT, 3000)}`;
}

/**
 * Where the insurer intermediate server listens: `http://HOST:INSURER_PORT` (default 3001).
 * What `--insurer-url` defaults to.
 *
 * @example
 * insurerUrlFrom({}); // 'http://127.0.0.1:3001'
 */
export function insurerUrlFrom(env: SimEnv): string {
  return `http://${clientHost(env.HOST)}:${portOf('INSURER_PORT', env.INSURER_PORT, 3001)}`;
}

/** Where a command line reads and writes (the process's in the CLIs; a test passes its own). */
export interface CliIo {
  argv: readonly string[];
  env: SimEnv;
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  /** Today in Japan, YYYY-MM-DD (default {@link todayInJapan}). */
  today?: string;
}

/** What a parser is given besides the arguments. */
export interface CliContext {
  env: SimEnv;
  /** Today in Japan, YYYY-MM-DD: the default date of care and reference date. */
  today: string;
}

/** A simulator command line: its npm script, help text and argument parser. */
export interface CliSpec<T extends { help: boolean }> {
  /** The npm script, e.g. `sim:clinic`. */
  command: string;
  /** The text `--help` prints. */
  usage: string;
  /** Reads the arguments (without `node` and the script); throws {@link UsageError} for a mistake. */
  parse(argv: readonly string[], context: CliContext): T;
}

/** The process's streams, arguments and environment. */
export function processIo(): CliIo {
  return { argv: process.argv.slice(2), env: process.env, stdout: process.stdout, stderr: process.stderr };
}

/** A class of errors a CLI reports as one line with exit 1 (the user's to fix, not a bug). */
export type ExpectedError = abstract new (...args: never[]) => Error;

/**
 * Runs a simulator command line and returns its exit code: `--help` prints the usage (0);
 * a mistake in the arguments prints one line `error: … (see npm run X -- --help)` (2), as does
 * an invalid environment; an operator's error (a data folder in use, a key that does not fit)
 * or an `expected` error prints `error: …` (1). Anything else is a bug and is thrown.
 *
 * @example
 * process.exitCode = await runCli(CLINIC_CLI, (options) => runClinic(options, …), { expected: [DemoDataError] });
 */
export async function runCli<T extends { help: boolean }>(
  spec: CliSpec<T>,
  run: (options: T, io: CliIo) => Promise<number> | number,
  opts: { io?: CliIo; expected?: readonly ExpectedError[] } = {},
): Promise<number> {
  const io = opts.io ?? processIo();
  try {
    const options = spec.parse(io.argv, { env: io.env, today: io.today ?? todayInJapan() });
    if (options.help) {
      io.stdout.write(spec.usage);
      return 0;
    }
    return await run(options, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`error: ${error.message} (see npm run ${spec.command} -- --help)\n`);
      return 2;
    }
    if (error instanceof EnvError) {
      io.stderr.write(`error: ${error.message}\n`);
      return 2;
    }
    if (error instanceof OperatorError || opts.expected?.some((kind) => error instanceof kind)) {
      io.stderr.write(`error: ${(error as Error).message}\n`);
      return 1;
    }
    throw error;
  }
}

/** Checks a YYYY-MM-DD option (a real calendar date), or throws {@link UsageError}. */
export function isoDateOption(name: string, value: string): string {
  if (!isIsoDate(value))
    throw new UsageError(`--${name} must be a date YYYY-MM-DD, not ${JSON.stringify(value)}`);
  return value;
}
