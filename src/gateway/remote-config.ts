import { readFileSync } from 'node:fs';
import type { Env } from '../config/env.js';
import { OperatorError } from '../config/errors.js';
import { clientTls } from '../config/tls.js';
import { CircuitBreaker } from './http/circuit-breaker.js';
import { createRemotePmhDispatcher, RemotePmhClient } from './remote-pmh/index.js';
import type { RemotePmhOptions } from './system.js';

/** A token file that cannot be used; the message names the file, never its content. */
export class PmhCredentialsError extends OperatorError {
  override name = 'PmhCredentialsError';
}

const TOKEN = /^[\x21-\x7E]{8,4096}$/;
const KEY = /^[0-9]{6}:[A-Za-z0-9._-]{1,64}$/;

/**
 * Reads PMH credentials: JSON `{ "<tenant>:<businessId>": "<token>", … }`. A client at PMH is
 * bound to one tenant and business, as ours are, and PMH files what it receives under the
 * token's tenant: so there is no wildcard, and a tenant and business without an entry of its
 * own is never sent (its records wait, and the status page says so).
 *
 * @example
 * const token = parsePmhTokens('{"130001:jiritsu":"s3cret-token"}', 'pmh.tokens');
 * token('130001', 'jiritsu'); // 's3cret-token'
 * token('130001', 'other'); // undefined
 */
export function parsePmhTokens(
  text: string,
  file: string,
): (tenantCode: string, businessId: string) => string | undefined {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{'))
    throw new PmhCredentialsError(
      `${file}: expected JSON {"<tenant>:<businessId>": "<token>"} (one PMH client per tenant and business)`,
    );
  let map: unknown;
  try {
    map = JSON.parse(trimmed);
  } catch {
    throw new PmhCredentialsError(`${file}: not valid JSON`);
  }
  if (typeof map !== 'object' || map === null || Array.isArray(map))
    throw new PmhCredentialsError(`${file}: expected an object of "<tenant>:<businessId>" → token`);
  const tokens = new Map<string, string>();
  Object.entries(map).forEach(([key, value], i) => {
    // The key is not repeated: a swapped key and token would print the token.
    if (!KEY.test(key))
      throw new PmhCredentialsError(
        `${file}: entry ${i + 1} has a bad key (expected "<6-digit tenant>:<businessId>")`,
      );
    if (typeof value !== 'string' || !TOKEN.test(value))
      throw new PmhCredentialsError(`${file}: the token for "${key}" is not usable`);
    tokens.set(key, value);
  });
  return (tenant, business) => tokens.get(`${tenant}:${business}`);
}

function read(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new PmhCredentialsError(`${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
}

/**
 * The remote PMH adapter from the environment (PMH_MODE=remote): the HTTP client (undici
 * Pool, keep-alive, timeouts, mutual TLS when cert files are given), its circuit breaker and
 * the outbox settings. `close()` ends the pool on shutdown.
 *
 * @example
 * const remote = remotePmhFromEnv(env);
 * const system = await buildSystem({ ..., remotePmh: remote?.options });
 */
export function remotePmhFromEnv(
  env: Env,
): { options: RemotePmhOptions; close: () => Promise<void> } | undefined {
  if (env.PMH_MODE !== 'remote' || !env.PMH_BASE_URL) return undefined;
  const token = env.PMH_TOKEN_FILE
    ? parsePmhTokens(read(env.PMH_TOKEN_FILE, 'PMH_TOKEN_FILE'), env.PMH_TOKEN_FILE)
    : undefined;
  const tls = clientTls('PMH_TLS_', env);
  const dispatcher = createRemotePmhDispatcher(env.PMH_BASE_URL, tls ? { tls } : {});
  const breaker = new CircuitBreaker({ openMs: env.PMH_BREAKER_OPEN_MS });
  const client = new RemotePmhClient({
    baseUrl: env.PMH_BASE_URL,
    dispatcher,
    timeoutMs: env.PMH_TIMEOUT_MS,
    breaker,
  });
  // Reads (getSubject, reconciliation) have a breaker of their own: they never stop delivery.
  const reader = new RemotePmhClient({
    baseUrl: env.PMH_BASE_URL,
    dispatcher,
    timeoutMs: env.PMH_TIMEOUT_MS,
    breaker: new CircuitBreaker({ openMs: env.PMH_BREAKER_OPEN_MS }),
  });
  return {
    options: {
      client,
      reader,
      // With a token file, a tenant and business without a token is held back; without one
      // (mutual TLS only) every call goes without a bearer token.
      token: token ?? (() => undefined),
      requireToken: token !== undefined,
      batchSize: env.PMH_BATCH_SIZE,
      maxAttempts: env.PMH_MAX_ATTEMPTS,
      backoff: { baseMs: env.PMH_RETRY_BASE_MS, maxMs: env.PMH_RETRY_MAX_MS },
      ratePerSecond: env.PMH_RATE_PER_SECOND,
      leaseMs: env.PMH_LEASE_MS,
      circuit: () => breaker.state,
      alert: { depth: env.OUTBOX_ALERT_DEPTH, ageSeconds: env.OUTBOX_ALERT_AGE_SECONDS },
    },
    close: () => dispatcher.close(),
  };
}
