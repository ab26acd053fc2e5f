import { maskTwelveDigitRuns } from '../gateway/http/mask.js';

/**
 * An error whose message is written for the operator (a bad setting, a key that does not
 * fit, a data folder in use): a program prints it alone, with no stack and no prefix.
 */
export class OperatorError extends Error {}

/** Why a connection could not be made, by errno code (only for a failed connect or lookup). */
const UNREACHABLE: Record<string, string> = {
  ECONNREFUSED: 'the connection was refused',
  ENOTFOUND: 'the host name was not found',
  EAI_AGAIN: 'the host name could not be looked up',
  ETIMEDOUT: 'the connection timed out',
  ECONNRESET: 'the connection was reset',
  EHOSTUNREACH: 'the host is unreachable',
  ENOENT: 'the socket does not exist',
};

/** Why PostgreSQL refused, by SQLSTATE. */
const REFUSED: Record<string, string> = {
  '28P01': 'the password was refused',
  '28000': 'the user may not connect',
  '3D000': 'the database does not exist',
};

/** Why a database could not be reached, from the error's cause chain, or undefined. */
function unreachableDatabase(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 5 && e; i++) {
    const { code, syscall } = e as { code?: unknown; syscall?: unknown };
    if (typeof code === 'string') {
      if (REFUSED[code]) return REFUSED[code];
      if (UNREACHABLE[code] && (syscall === 'connect' || syscall === 'getaddrinfo')) return UNREACHABLE[code];
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** A query error's cause (the database's own words), not the query and its parameters. */
function described(err: unknown): string {
  const e = err as Error & { cause?: unknown };
  const inner = e?.message?.startsWith('Failed query:') && e.cause instanceof Error ? e.cause : e;
  return maskTwelveDigitRuns(`${inner?.name}: ${inner?.message}`);
}

/**
 * The one line a command-line program prints when it fails: an {@link OperatorError}'s
 * message alone; a PostgreSQL it cannot connect to, said plainly; anything else as
 * `<what failed>: <name>: <message>` — for a failed query its cause, never the query's
 * parameters, and never a run of twelve digits.
 *
 * @example
 * main().catch((err) => { process.stderr.write(`${failureMessage(err, 'pmh-gateway failed to start')}\n`); process.exit(1); });
 */
export function failureMessage(err: unknown, what: string): string {
  if (err instanceof OperatorError) return err.message;
  const why = unreachableDatabase(err);
  if (why)
    return `${what}: cannot use the PostgreSQL database of DATABASE_URL: ${why}. Check DATABASE_URL, or unset it to use the embedded PGlite under DATA_DIR.`;
  return `${what}: ${described(err)}`;
}
