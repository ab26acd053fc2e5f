/** Exponential backoff bounds: the n-th retry waits up to `min(maxMs, baseMs * 2^n)`. */
export interface Backoff {
  baseMs: number;
  maxMs: number;
}

export interface RetryPolicy {
  /** Attempts in all, the first included (>= 1). */
  maxAttempts: number;
  backoff: Backoff;
  sleep: (ms: number) => Promise<void>;
  /** Uniform in [0, 1), like `Math.random`. */
  random: () => number;
}

/**
 * A failure worth another attempt (connection error, timeout, 5xx, 408, 429). Its message
 * must be safe to surface: no body content, no personal data.
 */
export class RetryableFailure extends Error {
  override name = 'RetryableFailure';
  constructor(
    message: string,
    /** The server's `retry-after`, in milliseconds, when it sent one. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** Every attempt failed with a {@link RetryableFailure}; `last` is the final one. */
export class RetriesExhaustedError extends Error {
  override name = 'RetriesExhaustedError';
  constructor(
    readonly attempts: number,
    readonly last: RetryableFailure,
  ) {
    super(`${attempts} attempts failed (last: ${last.message})`);
  }
}

/**
 * Full jitter (AWS architecture blog, "Exponential Backoff And Jitter"):
 * `random(0, min(maxMs, baseMs * 2^retry))`, `retry` counting from 0 for the first retry.
 *
 * @example
 * fullJitterDelay(0, { baseMs: 100, maxMs: 5_000 }, () => 0.5); // 50
 */
export function fullJitterDelay(retry: number, backoff: Backoff, random: () => number): number {
  const cap = Math.min(backoff.maxMs, backoff.baseMs * 2 ** retry);
  return Math.floor(Math.max(0, Math.min(1, random())) * cap);
}

/**
 * Reads a `retry-after` header given in seconds (RFC 9110 §10.2.3 delay-seconds); an HTTP-date
 * or anything else is ignored (`undefined`).
 *
 * @example
 * parseRetryAfterMs('2'); // 2000
 */
export function parseRetryAfterMs(value: string | string[] | undefined): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined || !/^\s*\d{1,9}\s*$/.test(raw)) return undefined;
  return Number(raw.trim()) * 1000;
}

/**
 * The wait before retry number `retry` (from 0): the server's `retry-after` capped by
 * `maxMs` when it sent one, full jitter otherwise.
 */
export function retryDelay(
  retry: number,
  failure: RetryableFailure,
  policy: Pick<RetryPolicy, 'backoff' | 'random'>,
): number {
  if (failure.retryAfterMs !== undefined) return Math.min(failure.retryAfterMs, policy.backoff.maxMs);
  return fullJitterDelay(retry, policy.backoff, policy.random);
}

/**
 * Calls `fn(attempt)` (attempt from 1) until it resolves, retrying only on
 * {@link RetryableFailure} with a backoff sleep between attempts; any other error is
 * rethrown at once.
 * @throws {RetriesExhaustedError} after `maxAttempts` retryable failures (no sleep after the last).
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, policy: RetryPolicy): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!(err instanceof RetryableFailure)) throw err;
      if (attempt >= policy.maxAttempts) throw new RetriesExhaustedError(attempt, err);
      await policy.sleep(retryDelay(attempt - 1, err, policy));
    }
  }
}
