import { type Dispatcher, request } from 'undici';
import { CircuitBreaker, CircuitOpenError } from '../../gateway/http/circuit-breaker.js';
import { newRequestId } from '../../gateway/http/middleware.js';
import {
  createPool,
  HEADER_TOKEN,
  mediaType,
  type OutboundTls,
  readCapped,
  readProblemCode,
  transportCode,
} from '../../gateway/http/outbound.js';
import {
  type Backoff,
  parseRetryAfterMs,
  RetriesExhaustedError,
  RetryableFailure,
  withRetry,
} from '../../gateway/http/retry.js';
import {
  type NumberingAnswerItem,
  type NumberingPort,
  NumberingProtocolError,
  type NumberingRequestItem,
  NumberingUnavailableError,
  numberingAnswerSchema,
  numberingRequestSchema,
} from '../../intermediate/insurer/index.js';

/** The numbering operation of the insurer intermediate server, under `baseUrl`. */
export const PMH_ID_REQUESTS_PATH = '/insurer/v1/pmh-id-requests';

/** Largest 200 answer read (5,000 items with reasons fit well inside); beyond it the answer is refused. */
const MAX_ANSWER_BYTES = 32 * 1024 * 1024;
/** Schema keys that may appear in an issue path of an error message; anything else becomes `?`. */
const KNOWN_KEYS = new Set([
  'items',
  'myNumber',
  'basicFiveInfo',
  'name',
  'nameKana',
  'address',
  'dateOfBirth',
  'sex',
  'pmhId',
  'outcome',
  'reasons',
  'field',
  'verdict',
]);

export interface InsurerHttpClientOptions {
  /** Origin (and optional path prefix) of the insurer intermediate server, e.g. `http://127.0.0.1:4100`. */
  baseUrl: string;
  /** Bearer token sent on every attempt. */
  token: string;
  /** An undici Pool/Agent in production ({@link createInsurerDispatcher}), a MockAgent in tests. */
  dispatcher: Dispatcher;
  /** Per attempt: headersTimeout, bodyTimeout and a deadline on the whole attempt (default 10_000). */
  timeoutMs?: number;
  /** Attempts per call, the first included (default 5). */
  maxAttempts?: number;
  /** Full jitter: random(0, min(maxMs, baseMs * 2^retry)) (default 100 / 5_000). */
  backoff?: Backoff;
  /** Shared by every call of this client; share one instance across clients of the same server. Default: a new `CircuitBreaker()`. */
  breaker?: CircuitBreaker;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/** A batch as the port takes it, plus an optional `x-request-id` (one per call, the same on every attempt). */
export interface InsurerNumberingBatch {
  idempotencyKey: string;
  items: readonly NumberingRequestItem[];
  requestId?: string;
}

/**
 * The hub's HTTP client for the insurer intermediate server's numbering (seed A11, A13):
 * `POST {baseUrl}/insurer/v1/pmh-id-requests` with retries (full jitter, same idempotency key
 * on every attempt), a circuit breaker, and a strict check of the answer before anything is
 * returned. Never logs; error messages carry no 個人番号 and no body content.
 *
 * @example
 * const dispatcher = createInsurerDispatcher('http://127.0.0.1:4100');
 * const numbering: NumberingPort = new InsurerHttpClient({ baseUrl: 'http://127.0.0.1:4100', token, dispatcher });
 * const answer = await numbering.requestPmhIds({ idempotencyKey: batchId, items });
 */
export class InsurerHttpClient implements NumberingPort {
  readonly breaker: CircuitBreaker;
  readonly #url: string;
  readonly #token: string;
  readonly #dispatcher: Dispatcher;
  readonly #timeoutMs: number;
  readonly #maxAttempts: number;
  readonly #backoff: Backoff;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;

  constructor(options: InsurerHttpClientOptions) {
    this.#url = `${options.baseUrl.replace(/\/+$/, '')}${PMH_ID_REQUESTS_PATH}`;
    if (!/^https?:\/\//.test(this.#url)) throw new RangeError('baseUrl must be an http(s) URL');
    if (!/^[\x21-\x7E]+$/.test(options.token)) throw new RangeError('token must be visible ASCII');
    this.#token = options.token;
    this.#dispatcher = options.dispatcher;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#maxAttempts = options.maxAttempts ?? 5;
    if (!Number.isInteger(this.#maxAttempts) || this.#maxAttempts < 1)
      throw new RangeError('maxAttempts must be a positive integer');
    this.#backoff = options.backoff ?? { baseMs: 100, maxMs: 5_000 };
    this.breaker = options.breaker ?? new CircuitBreaker();
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#random = options.random ?? Math.random;
  }

  /**
   * Numbers a batch. Each attempt passes through the breaker; retryable failures (connection
   * error, timeout, 5xx, 408, 429) are retried up to `maxAttempts` with the same idempotency key.
   *
   * @throws {NumberingUnavailableError} after `maxAttempts` retryable failures, or at once while
   *   the circuit is open (message `circuit open`).
   * @throws {NumberingProtocolError} on another 4xx, or an answer that breaks the contract (not
   *   JSON, extra fields, wrong length, another person's 個人番号, pmhId inconsistent with the
   *   outcome); not retried. Also when the batch itself is invalid (nothing is sent then).
   */
  async requestPmhIds(batch: InsurerNumberingBatch): Promise<NumberingAnswerItem[]> {
    const requestId = batch.requestId ?? newRequestId();
    if (!HEADER_TOKEN.test(batch.idempotencyKey))
      throw new NumberingProtocolError(
        'request refused before sending: idempotencyKey must be 1–255 visible ASCII characters',
      );
    if (!HEADER_TOKEN.test(requestId))
      throw new NumberingProtocolError(
        'request refused before sending: requestId must be 1–255 visible ASCII characters',
      );
    const checked = numberingRequestSchema.safeParse({ items: batch.items });
    if (!checked.success)
      throw new NumberingProtocolError(`request refused before sending: ${describeIssue(checked.error)}`);

    const body = JSON.stringify(checked.data);
    const headers = {
      'content-type': 'application/json',
      accept: 'application/json, application/problem+json',
      authorization: `Bearer ${this.#token}`,
      'idempotency-key': batch.idempotencyKey,
      'x-request-id': requestId,
    };
    try {
      return await withRetry(() => this.breaker.execute(() => this.#attempt(headers, body, batch.items)), {
        maxAttempts: this.#maxAttempts,
        backoff: this.#backoff,
        sleep: this.#sleep,
        random: this.#random,
      });
    } catch (err) {
      if (err instanceof CircuitOpenError) throw new NumberingUnavailableError('circuit open');
      if (err instanceof RetriesExhaustedError)
        throw new NumberingUnavailableError(
          `insurer numbering unavailable after ${err.attempts} attempts (last: ${err.last.message})`,
        );
      throw err;
    }
  }

  async #attempt(
    headers: Record<string, string>,
    body: string,
    sent: readonly NumberingRequestItem[],
  ): Promise<NumberingAnswerItem[]> {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), this.#timeoutMs);
    try {
      let res: Dispatcher.ResponseData;
      try {
        res = await request(this.#url, {
          dispatcher: this.#dispatcher,
          method: 'POST',
          headers,
          body,
          headersTimeout: this.#timeoutMs,
          bodyTimeout: this.#timeoutMs,
          signal: deadline.signal,
        });
      } catch (err) {
        throw new RetryableFailure(
          deadline.signal.aborted ? 'timeout' : `connection error ${transportCode(err)}`,
        );
      }

      const { statusCode } = res;
      if (statusCode !== 200) {
        const code = await readProblemCode(res);
        const label = `HTTP ${statusCode}${code ? ` ${code}` : ''}`;
        if (statusCode === 408 || statusCode === 429 || statusCode >= 500)
          throw new RetryableFailure(label, parseRetryAfterMs(res.headers['retry-after']));
        throw new NumberingProtocolError(`insurer answered ${label}`);
      }

      if (mediaType(res.headers['content-type']) !== 'application/json') {
        res.body.destroy();
        throw new NumberingProtocolError('answer refused: content-type is not application/json');
      }
      let text: string;
      try {
        text = await readCapped(res.body, MAX_ANSWER_BYTES, (message) => new NumberingProtocolError(message));
      } catch (err) {
        if (err instanceof NumberingProtocolError) throw err;
        throw new RetryableFailure(
          deadline.signal.aborted
            ? 'timeout'
            : `connection error while reading the answer ${transportCode(err)}`,
        );
      }
      return checkAnswer(text, sent);
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * An undici Pool for the insurer server: keep-alive, pipelining 1, `connections` sockets at
 * most (default 10); `tls` (CA, client cert and key) for mutual TLS — only with an https URL.
 *
 * @example
 * const dispatcher = createInsurerDispatcher('https://insurer.internal:4100', { tls: { ca, cert, key } });
 * // on shutdown: await dispatcher.close();
 */
export function createInsurerDispatcher(
  baseUrl: string,
  opts: { connections?: number; tls?: OutboundTls } = {},
): Dispatcher {
  return createPool(baseUrl, opts);
}

/** Validates a 200 answer against the request; returns its items or throws, never both. */
function checkAnswer(text: string, sent: readonly NumberingRequestItem[]): NumberingAnswerItem[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // The SyntaxError quotes the body: never keep it.
    throw new NumberingProtocolError('answer refused: body is not JSON');
  }
  const parsed = numberingAnswerSchema.safeParse(json);
  if (!parsed.success) throw new NumberingProtocolError(`answer refused: ${describeIssue(parsed.error)}`);
  const items = parsed.data.items;
  if (items.length !== sent.length)
    throw new NumberingProtocolError(`answer refused: ${items.length} items for ${sent.length} requested`);
  items.forEach((item, i) => {
    if (item.myNumber !== sent[i]?.myNumber)
      throw new NumberingProtocolError(
        `answer refused: item ${i} carries another 個人番号 than the one requested`,
      );
    const numbered = item.outcome === 'assigned' || item.outcome === 'existing';
    if (numbered && item.pmhId === null)
      throw new NumberingProtocolError(`answer refused: item ${i} is ${item.outcome} without a pmhId`);
    if (!numbered && item.pmhId !== null)
      throw new NumberingProtocolError(`answer refused: item ${i} is ${item.outcome} with a pmhId`);
  });
  return items;
}

/** The first zod issue as `code at path`, with only schema keys and indexes in the path. */
function describeIssue(error: { issues: readonly { code: string; path: readonly PropertyKey[] }[] }): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  const path = issue.path
    .map((p) => (typeof p === 'number' ? String(p) : typeof p === 'string' && KNOWN_KEYS.has(p) ? p : '?'))
    .join('.');
  return `${issue.code} at ${path || '(root)'}`;
}
