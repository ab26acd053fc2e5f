import { type CliSpec, parseArgsOrUsage, UsageError } from '../cli/index.js';

/** Help text of `npm run sim:insured`. */
export const INSURED_USAGE = `usage: npm run sim:insured -- [--people 1000] [options]

Loads the synthetic population (the people sim:case-system registers) into the insurer
intermediate server's store, each with a 紐付番号 and an insurer number. Already loaded
people are skipped, so a re-run adds nothing.

  --people N            people to load (default 1000)
  --seed S              population seed (default 1)
  --offset N            first person's index (default 0)
  --mismatch-every N    hold every N-th person's birth date one day off, so their
                        cross-check fails (default 0: none; the demo uses 50)
  --help                this text

Writes to the database directly, not over HTTP (so no --url; PORT does not apply): on
PostgreSQL (DATABASE_URL) by COPY; on PGlite (DATA_DIR/pglite, default ./data/pglite) through
the service — stop the gateway first, PGlite allows one process.
`;

/** Options of the `npm run sim:insured` command line. */
export interface InsuredCliOptions {
  people: number;
  seed: number | string;
  offset: number;
  mismatchEvery: number;
  help: boolean;
}

function count(name: string, value: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)))
    throw new UsageError(`--${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
  return Number(value);
}

/**
 * Parses `npm run sim:insured` arguments.
 *
 * @example
 * parseInsuredArgs(['--people', '20000', '--mismatch-every', '50']);
 */
export function parseInsuredArgs(argv: readonly string[]): InsuredCliOptions {
  const { values } = parseArgsOrUsage({
    args: [...argv],
    options: {
      people: { type: 'string', default: '1000' },
      seed: { type: 'string', default: '1' },
      offset: { type: 'string', default: '0' },
      'mismatch-every': { type: 'string', default: '0' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  return {
    people: count('people', values.people),
    seed: /^\d+$/.test(values.seed) ? Number(values.seed) : values.seed,
    offset: count('offset', values.offset),
    mismatchEvery: count('mismatch-every', values['mismatch-every']),
    help: values.help,
  };
}

/** The `npm run sim:insured` command line (see `runCli`). */
export const INSURED_CLI: CliSpec<InsuredCliOptions> = {
  command: 'sim:insured',
  usage: INSURED_USAGE,
  parse: parseInsuredArgs,
};
