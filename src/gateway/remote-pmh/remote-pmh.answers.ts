import type { Dispatcher } from 'undici';
import { mediaType, readCapped, readProblemJson, safeCode, transportCode } from '../http/outbound.js';
import { parseRetryAfterMs } from '../http/retry.js';
import {
  type RemoteRecordOutcome,
  type RemoteSubject,
  registrationTasksAnswerSchema,
  remoteProblemSchema,
  remoteSubjectSchema,
} from './remote-pmh.schemas.js';

/** Largest 2xx answer read (10,000 results fit well inside); beyond it the answer is malformed. */
const MAX_ANSWER_BYTES = 8 * 1024 * 1024;
/** Largest subject read. */
const MAX_SUBJECT_BYTES = 4 * 1024 * 1024;
/** Undici's own deadlines, reported as a timeout like ours. */
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
/** Answer schema keys that may appear in a reason; anything else becomes `?`. */
const ANSWER_KEYS = new Set(['results', 'index', 'subjectId', 'outcome', 'errors', 'pointer', 'code']);

/** The remote's answer for one record; `errors` only with outcome `rejected`, codes filtered by {@link safeCode}. */
export type RemoteRecordResult = {
  index: number;
  subjectId: string | null;
  outcome: RemoteRecordOutcome;
  errors?: { pointer: string; code: string }[];
};

/**
 * What one delivery attempt came to. Never carries body content or a 個人番号: reasons are
 * fixed phrases with HTTP statuses and transport codes, remote codes pass {@link safeCode}.
 *
 * - `results`: a 2xx whose body is valid, one result per record in order;
 * - `invalid-records`: a 422 whose problem names records by index — fix them, do not resend as is;
 * - `refused`: any other 4xx but 408 and 429 (401, 403, 404, 409, 413, a 422 without indexed
 *   errors) and a 3xx — resending the same request will not help;
 * - `retry`: 408, 429, 5xx, timeout, connection or TLS error, open circuit — resend later
 *   with the same idempotency key, not before `retryAfterMs` when given;
 * - `malformed`: a 2xx that breaks the contract (content type, not UTF-8 or JSON, too large,
 *   unknown field, wrong count or order); whether anything was applied is unknown.
 */
export type DeliveryAnswer =
  | { kind: 'results'; results: RemoteRecordResult[] }
  | { kind: 'invalid-records'; status: 422; errors: { index: number; pointer: string; code: string }[] }
  | { kind: 'refused'; status: number; code?: string }
  | { kind: 'retry'; reason: string; retryAfterMs?: number }
  | { kind: 'malformed'; reason: string };

/** What `RemotePmhClient.getSubjectRecord` came to; `reason` as in {@link DeliveryAnswer}. */
export type SubjectAnswer =
  | { kind: 'found'; subject: RemoteSubject }
  | { kind: 'absent' }
  | { kind: 'unavailable'; reason: string };

/** A 2xx body refused by {@link readCapped}. */
class BodyRefused extends Error {}

/**
 * `timeout` when our deadline or undici's fired, else `<what> (<code>)`; never a message.
 *
 * @example
 * transportReason(err, signal, 'connection error'); // 'connection error (ECONNREFUSED)'
 */
export function transportReason(err: unknown, signal: AbortSignal, what: string): string {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  if (signal.aborted || (typeof code === 'string' && TIMEOUT_CODES.has(code))) return 'timeout';
  return `${what} ${transportCode(err)}`.trim();
}

async function readJsonBody(
  res: Dispatcher.ResponseData,
  maxBytes: number,
  signal: AbortSignal,
): Promise<{ json: unknown } | { kind: 'malformed' | 'retry'; reason: string }> {
  if (mediaType(res.headers['content-type']) !== 'application/json') {
    res.body.destroy();
    return { kind: 'malformed', reason: 'content-type is not application/json' };
  }
  let text: string;
  try {
    text = await readCapped(
      res.body,
      maxBytes,
      (_message, refusal) =>
        new BodyRefused(refusal === 'too-large' ? 'body too large' : 'body is not UTF-8'),
    );
  } catch (err) {
    if (err instanceof BodyRefused) return { kind: 'malformed', reason: err.message };
    return {
      kind: 'retry',
      reason: transportReason(err, signal, 'connection error while reading the answer'),
    };
  }
  try {
    return { json: JSON.parse(text) };
  } catch {
    // The SyntaxError quotes the body: never keep it.
    return { kind: 'malformed', reason: 'body is not JSON' };
  }
}

/**
 * Reads a 2xx answer of `POST /registration-tasks` sent with `count` records: `results` when it
 * keeps the contract, `malformed` (or `retry` when reading fails in transit) otherwise.
 *
 * @example
 * if (res.statusCode === 200) return readResults(res, records.length, signal);
 */
export async function readResults(
  res: Dispatcher.ResponseData,
  count: number,
  signal: AbortSignal,
): Promise<DeliveryAnswer> {
  const read = await readJsonBody(res, MAX_ANSWER_BYTES, signal);
  if (!('json' in read)) return read;
  const parsed = registrationTasksAnswerSchema.safeParse(read.json);
  if (!parsed.success) return { kind: 'malformed', reason: `answer refused: ${describeIssue(parsed.error)}` };
  const { results } = parsed.data;
  if (results.length !== count)
    return { kind: 'malformed', reason: 'answer refused: wrong number of results' };
  if (results.some((r, i) => r.index !== i))
    return { kind: 'malformed', reason: 'answer refused: result indexes do not follow the records' };
  return {
    kind: 'results',
    results: results.map((r) => ({
      index: r.index,
      subjectId: r.subjectId,
      outcome: r.outcome,
      ...(r.errors
        ? { errors: r.errors.map((e) => ({ pointer: safePointer(e.pointer), code: remoteCode(e.code) })) }
        : {}),
    })),
  };
}

/**
 * Reads a non-2xx answer of `POST /registration-tasks` into `retry`, `invalid-records` or
 * `refused`; drains the body.
 *
 * @example
 * if (res.statusCode >= 300) return readFailure(res, records.length);
 */
export async function readFailure(res: Dispatcher.ResponseData, count: number): Promise<DeliveryAnswer> {
  const { statusCode } = res;
  const problem = remoteProblemSchema.safeParse(await readProblemJson(res));
  const code = problem.success ? safeCode(problem.data.code) : undefined;
  if (statusCode === 408 || statusCode === 429 || statusCode >= 500) {
    const retryAfterMs = parseRetryAfterMs(res.headers['retry-after']);
    return {
      kind: 'retry',
      reason: `HTTP ${statusCode}${code ? ` ${code}` : ''}`,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    };
  }
  if (statusCode === 422 && problem.success) {
    const errors = (problem.data.errors ?? []).flatMap((e) =>
      e.index !== undefined && e.index < count
        ? [{ index: e.index, pointer: safePointer(e.pointer), code: remoteCode(e.code) }]
        : [],
    );
    if (errors.length > 0) return { kind: 'invalid-records', status: 422, errors };
  }
  return { kind: 'refused', status: statusCode, ...(code ? { code } : {}) };
}

/**
 * Reads an answer of `GET /subjects/{subjectId}`; `failure` marks the answers the breaker
 * counts against the remote (timeouts, 408, 429, 5xx, malformed bodies).
 *
 * @example
 * const answer = await readSubject(res, subjectId, signal);
 */
export async function readSubject(
  res: Dispatcher.ResponseData,
  subjectId: string,
  signal: AbortSignal,
): Promise<SubjectAnswer & { failure?: true }> {
  const { statusCode } = res;
  if (statusCode < 200 || statusCode >= 300) {
    const code = safeCode(remoteProblemSchema.safeParse(await readProblemJson(res)).data?.code);
    if (statusCode === 404) return { kind: 'absent' };
    const failure = statusCode === 408 || statusCode === 429 || statusCode >= 500;
    return {
      kind: 'unavailable',
      reason: `HTTP ${statusCode}${code ? ` ${code}` : ''}`,
      ...(failure ? { failure: true as const } : {}),
    };
  }
  const read = await readJsonBody(res, MAX_SUBJECT_BYTES, signal);
  if (!('json' in read)) return { kind: 'unavailable', reason: read.reason, failure: true };
  const parsed = remoteSubjectSchema.safeParse(read.json);
  if (!parsed.success || parsed.data.subjectId !== subjectId)
    return { kind: 'unavailable', reason: 'malformed answer', failure: true };
  return { kind: 'found', subject: parsed.data };
}

/** A remote code when {@link safeCode} passes it, else `remote-error`. */
function remoteCode(code: string): string {
  return safeCode(code) ?? 'remote-error';
}

/**
 * A remote JSON pointer with only array indexes (5 digits at most) and code-like keys kept;
 * any other segment becomes `?`, so no value can ride along.
 */
function safePointer(pointer: string): string {
  if (pointer === '') return '';
  if (!pointer.startsWith('/')) return '/?';
  return pointer
    .split('/')
    .slice(1)
    .map((s) => (/^(0|[1-9][0-9]{0,4})$/.test(s) || safeCode(s) !== undefined ? s : '?'))
    .map((s) => `/${s}`)
    .join('');
}

/** The first zod issue as `code at path`, with only answer keys in the path and `*` for indexes. */
function describeIssue(error: { issues: readonly { code: string; path: readonly PropertyKey[] }[] }): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  const path = issue.path
    .map((p) => (typeof p === 'number' ? '*' : typeof p === 'string' && ANSWER_KEYS.has(p) ? p : '?'))
    .join('.');
  return `${issue.code} at ${path || '(root)'}`;
}
