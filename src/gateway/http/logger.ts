import pino, { type DestinationStream, type Logger } from 'pino';
import { maskTwelveDigitRuns } from './mask.js';

function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskTwelveDigitRuns(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrub(v, depth + 1);
  return out;
}

/**
 * The structured logger. Whatever a caller logs, a run of exactly twelve digits (the
 * shape of a 個人番号) never reaches the output: fields named like personal data are
 * redacted, and every string is scrubbed as a second line of defence.
 *
 * @example
 * const logger = createLogger('info');
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'pmh-gateway' },
      redact: {
        paths: ['myNumber', '*.myNumber', 'req.headers.authorization', 'headers.authorization'],
        censor: '[redacted]',
      },
      formatters: { log: (obj) => scrub(obj) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          method.apply(
            this,
            args.map((a) => (typeof a === 'string' ? maskTwelveDigitRuns(a) : a)) as Parameters<
              typeof method
            >,
          );
        },
      },
    },
    destination,
  );
}
