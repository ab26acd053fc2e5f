import {
  type CliContext,
  type CliSpec,
  gatewayUrlFrom,
  insurerUrlFrom,
  parseArgsOrUsage,
} from '../cli/index.js';
import { cardFromArgs, dateFromArgs } from '../clinic/index.js';

/** Help text of `npm run sim:portal`. */
export const PORTAL_USAGE = `usage: npm run sim:portal -- --card C00000000012 [options]

The My Number Portal (seed ㉘): links a pseudonym on a resident's first use, then shows the
resident's own medical-subsidy entitlements.

  --card SERIAL         card certificate serial (C + 11 digits)
  --index N             or the demo population index
  --date YYYY-MM-DD     date (default: today in Japan; sim:case-system registers
                        entitlements for the fiscal year of the day it runs)
  --url URL             gateway (default http://$HOST:$PORT from the environment, as
                        \`npm start\` listens; else http://127.0.0.1:3000)
  --insurer-url URL     insurer intermediate server (default http://$HOST:$INSURER_PORT;
                        else http://127.0.0.1:3001)

Reads demo credentials and keys from DATA_DIR (default ./data).
`;

/** Options of the portal command line. */
export interface PortalCliOptions {
  card: string;
  date: string;
  url: string;
  insurerUrl: string;
  help: boolean;
}

/**
 * Parses `npm run sim:portal` arguments; the URLs default to the servers of `context.env`
 * (HOST, PORT, INSURER_PORT), the date to `context.today`.
 *
 * @example
 * parsePortalArgs(['--index', '12'], { today: '2026-11-30', env: { PORT: '3900' } });
 */
export function parsePortalArgs(argv: readonly string[], context: CliContext): PortalCliOptions {
  const { values } = parseArgsOrUsage({
    args: [...argv],
    options: {
      card: { type: 'string' },
      index: { type: 'string' },
      date: { type: 'string' },
      url: { type: 'string' },
      'insurer-url': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return { card: '', date: context.today, url: '', insurerUrl: '', help: true };
  return {
    card: cardFromArgs(values),
    date: dateFromArgs(values.date, context.today),
    url: values.url ?? gatewayUrlFrom(context.env),
    insurerUrl: values['insurer-url'] ?? insurerUrlFrom(context.env),
    help: false,
  };
}

/** The `npm run sim:portal` command line (see `runCli`). */
export const PORTAL_CLI: CliSpec<PortalCliOptions> = {
  command: 'sim:portal',
  usage: PORTAL_USAGE,
  parse: parsePortalArgs,
};
