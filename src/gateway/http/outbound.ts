import { type Dispatcher, Pool } from 'undici';

/** Largest problem+json read from an error answer. */
export const MAX_PROBLEM_BYTES = 64 * 1024;

/** Header values we send: visible ASCII only, so undici never refuses them mid-call. */
export const HEADER_TOKEN = /^[\x21-\x7E]{1,255}$/;

/** A remote `code` is repeated only when it looks like a code; see {@link safeCode}. */
const SAFE_CODE = /^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/;

/** Why {@link readCapped} refused a body. */
export type CappedReadRefusal = 'too-large' | 'not-utf8';

/**
 * A code from a remote answer when it is safe to repeat in a message or a stored outcome:
 * code-like (a letter, then letters, digits, `_.:-`, 64 at most) and without a run of 4+
 * digits (so never a 個人番号 or another identifier); `undefined` otherwise.
 *
 * @example
 * safeCode('validation-failed'); // 'validation-failed'
 * safeCode('id-123456789018'); // undefined
 */
export function safeCode(code: unknown): string | undefined {
  // At most three digits in all: a 個人番号 split by separators cannot pass either.
  return typeof code === 'string' && SAFE_CODE.test(code) && (code.match(/\d/g)?.length ?? 0) <= 3
    ? code
    : undefined;
}

/**
 * Reads a response body as UTF-8, refusing (and destroying the stream) beyond `maxBytes`.
 * `refuse` builds the error thrown for a body too large or not UTF-8, so each client throws
 * its own class; a transport failure while reading is rethrown as it came.
 *
 * @example
 * const text = await readCapped(res.body, 1024 * 1024, (message) => new MyProtocolError(message));
 */
export async function readCapped(
  body: Dispatcher.ResponseData['body'],
  maxBytes: number,
  refuse: (message: string, refusal: CappedReadRefusal) => Error,
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    size += buf.length;
    if (size > maxBytes) {
      body.destroy();
      throw refuse(`answer refused: body larger than ${maxBytes} bytes`, 'too-large');
    }
    chunks.push(buf);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw refuse('answer refused: body is not UTF-8', 'not-utf8');
  }
}

/**
 * The JSON of an error answer (at most {@link MAX_PROBLEM_BYTES}), or `undefined` when it is
 * absent, too large or not JSON; drains the body either way. The value is untrusted: parse it.
 *
 * @example
 * const problem = remoteProblemSchema.safeParse(await readProblemJson(res));
 */
export async function readProblemJson(res: Dispatcher.ResponseData): Promise<unknown> {
  try {
    return JSON.parse(await readCapped(res.body, MAX_PROBLEM_BYTES, (message) => new Error(message)));
  } catch {
    res.body.destroy();
    return undefined;
  }
}

/**
 * The problem `code` of an error answer when it is safe to repeat ({@link safeCode}); drains
 * the body either way.
 *
 * @example
 * const label = `HTTP ${res.statusCode} ${(await readProblemCode(res)) ?? ''}`;
 */
export async function readProblemCode(res: Dispatcher.ResponseData): Promise<string | undefined> {
  const problem = await readProblemJson(res);
  return safeCode(
    typeof problem === 'object' && problem !== null ? (problem as { code?: unknown }).code : undefined,
  );
}

/**
 * The media type of a `content-type` header, lower-cased, without parameters (`''` if absent).
 *
 * @example
 * mediaType('Application/JSON; charset=utf-8'); // 'application/json'
 */
export function mediaType(value: string | string[] | undefined): string {
  const raw = Array.isArray(value) ? value[0] : value;
  return (raw ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/**
 * An undici or Node error code in parentheses (e.g. `(UND_ERR_SOCKET)`, `(ECONNREFUSED)`,
 * `(UNABLE_TO_VERIFY_LEAF_SIGNATURE)`), else the error's class name; never its message.
 *
 * @example
 * `connection error ${transportCode(err)}`; // 'connection error (ECONNREFUSED)'
 */
export function transportCode(err: unknown): string {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  if (typeof code === 'string' && /^[A-Z][A-Z0-9_]{0,40}$/.test(code)) return `(${code})`;
  const name = err instanceof Error ? err.name : '';
  return /^[A-Za-z]{1,40}$/.test(name) ? `(${name})` : '';
}

/** TLS material of an outbound pool, all PEM: the CA to trust, and our client certificate and key. */
export interface OutboundTls {
  ca?: string;
  cert?: string;
  key?: string;
}

/** Options of {@link createPool}. */
export interface PoolOptions {
  /** Sockets at most (default 10). */
  connections?: number;
  /** Mutual TLS material; only with an https URL. */
  tls?: OutboundTls;
  /** Deadline of the TCP + TLS connect (undici's default, 10 s, when absent). */
  connectTimeoutMs?: number;
}

/**
 * An undici Pool for one server's origin: keep-alive (4 s idle, up to 10 min when the server
 * says so), pipelining 1, `connections` sockets at most; `tls` for mutual TLS.
 *
 * @throws {RangeError} when `tls` is given with a plain http URL.
 * @example
 * const pool = createPool('https://pmh.internal:4000/pmh/v1', { tls: { ca, cert, key } });
 * // on shutdown: await pool.close();
 */
export function createPool(baseUrl: string, opts: PoolOptions = {}): Pool {
  const url = new URL(baseUrl);
  if (opts.tls && url.protocol !== 'https:') throw new RangeError('tls options need an https baseUrl');
  const connect = {
    ...(opts.connectTimeoutMs !== undefined ? { timeout: opts.connectTimeoutMs } : {}),
    ...(opts.tls ? { ca: opts.tls.ca, cert: opts.tls.cert, key: opts.tls.key } : {}),
  };
  return new Pool(url.origin, {
    connections: opts.connections ?? 10,
    pipelining: 1,
    keepAliveTimeout: 4_000,
    keepAliveMaxTimeout: 600_000,
    ...(Object.keys(connect).length > 0 ? { connect } : {}),
  });
}
