import { type Dispatcher, request } from 'undici';
import { z } from 'zod';
import type { RegistrationRecord } from '../../pmh/index.js';
import { CircuitBreaker, CircuitOpenError } from '../http/circuit-breaker.js';
import { newRequestId } from '../http/middleware.js';
import { createPool, HEADER_TOKEN, type OutboundTls } from '../http/outbound.js';
import {
  type DeliveryAnswer,
  readFailure,
  readResults,
  readSubject,
  type SubjectAnswer,
  transportReason,
} from './remote-pmh.answers.js';
import { type PublicRegistrationRecord, publicRegistrationRecordSchema } from './remote-pmh.schemas.js';

/** The registration operation of the remote PMH, under its base URL (e.g. `…/pmh/v1`). */
export const REGISTRATION_TASKS_PATH = '/registration-tasks';
/** The subject read of the remote PMH, under its base URL; `{subjectId}` is a UUID. */
export const SUBJECTS_PATH = '/subjects';

/** The remote takes 1 to 10,000 records per call. */
const MAX_RECORDS = 10_000;
const BEARER_TOKEN = /^[\x21-\x7E]+$/;
const UUID = z.uuid();

/** Options of {@link RemotePmhClient}. */
export interface RemotePmhClientOptions {
  /** The remote hub API, e.g. `https://pmh.example:4000/pmh/v1`. */
  baseUrl: string;
  /** {@link createRemotePmhDispatcher} in production, a MockAgent in tests. */
  dispatcher: Dispatcher;
  /** Per call: headersTimeout, bodyTimeout and a deadline on the whole call (default 30_000). */
  timeoutMs?: number;
  /** Shared by every call of this client (default: a new `CircuitBreaker()`). */
  breaker?: CircuitBreaker;
}

/** Input of {@link RemotePmhClient.postRegistrationTasks}. */
export interface RegistrationTasksInput {
  /** Bearer token of our client at the remote; no `authorization` header without it. */
  token?: string;
  /** The same on every resend of one batch, so the remote applies it once. */
  idempotencyKey: string;
  /** Sent as `x-request-id` (a new UUID when absent). */
  requestId?: string;
  records: readonly RegistrationRecord[];
}

/** An answer the breaker must count as a failure, carried through `execute` as a rejection. */
class BreakerFailure<T> extends Error {
  constructor(readonly answer: T) {
    super('breaker failure');
  }
}

/**
 * The HTTP client of a remote PMH (another instance of this product or the public PMH):
 * `POST {base}/registration-tasks` and `GET {base}/subjects/{subjectId}`. One attempt per
 * call — the caller's outbox schedules resends durably — through a circuit breaker that
 * counts only `retry` and `malformed` answers as failures. Remote behaviour never throws; it
 * comes back as a {@link DeliveryAnswer}. Never logs.
 *
 * @example
 * const client = new RemotePmhClient({ baseUrl, dispatcher: createRemotePmhDispatcher(baseUrl) });
 * const answer = await client.postRegistrationTasks({ token, idempotencyKey: batchId, records });
 * if (answer.kind === 'retry') scheduleResend(answer.retryAfterMs);
 */
export class RemotePmhClient {
  readonly breaker: CircuitBreaker;
  readonly #base: string;
  readonly #dispatcher: Dispatcher;
  readonly #timeoutMs: number;

  constructor(options: RemotePmhClientOptions) {
    this.#base = options.baseUrl.replace(/\/+$/, '');
    if (!/^https?:\/\/[^/]/.test(this.#base)) throw new RangeError('baseUrl must be an http(s) URL');
    this.#dispatcher = options.dispatcher;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    if (!(this.#timeoutMs > 0)) throw new RangeError('timeoutMs must be positive');
    this.breaker = options.breaker ?? new CircuitBreaker();
  }

  /**
   * Sends one batch, once. Each record is mapped with {@link toPublicRecord} and checked
   * against the remote's shape before anything is sent.
   *
   * @throws {Error} `record does not fit the PMH shape at index i` (no value), or a
   *   `RangeError` for an empty or oversized batch or a header value that is not visible
   *   ASCII — caller bugs, nothing is sent.
   * @example
   * const answer = await client.postRegistrationTasks({ idempotencyKey: 'batch-1', records });
   */
  async postRegistrationTasks(input: RegistrationTasksInput): Promise<DeliveryAnswer> {
    const count = input.records.length;
    if (count < 1 || count > MAX_RECORDS) throw new RangeError('records: 1 to 10,000 per call');
    const body = JSON.stringify(input.records.map(checkedPublicRecord));
    const headers = {
      ...this.#headers(input.token, input.requestId),
      'content-type': 'application/json',
      'idempotency-key': headerValue(input.idempotencyKey, 'idempotencyKey'),
    };
    return this.#guarded(
      async (signal) => {
        const res = await this.#send(
          `${this.#base}${REGISTRATION_TASKS_PATH}`,
          'POST',
          headers,
          body,
          signal,
        );
        if ('kind' in res) return res;
        return res.statusCode >= 200 && res.statusCode < 300
          ? readResults(res, count, signal)
          : readFailure(res, count);
      },
      (answer) => answer.kind === 'retry' || answer.kind === 'malformed',
      () => ({ kind: 'retry', reason: 'circuit open', retryAfterMs: this.breaker.retryInMs }),
    );
  }

  /**
   * Reads one subject with its entitlements, once, through the same breaker: 404 is `absent`;
   * an answer failing the strict `remoteSubjectSchema` is `unavailable` ('malformed answer').
   *
   * @throws {RangeError} when `subjectId` is not a UUID (nothing is sent).
   * @example
   * const answer = await client.getSubjectRecord({ token, subjectId });
   * if (answer.kind === 'found') show(answer.subject);
   */
  async getSubjectRecord(input: { token?: string; subjectId: string }): Promise<SubjectAnswer> {
    if (!UUID.safeParse(input.subjectId).success) throw new RangeError('subjectId must be a UUID');
    const url = `${this.#base}${SUBJECTS_PATH}/${input.subjectId}`;
    const headers = this.#headers(input.token, undefined);
    return this.#guarded<SubjectAnswer & { failure?: true }>(
      async (signal) => {
        const res = await this.#send(url, 'GET', headers, undefined, signal);
        if ('kind' in res) return { kind: 'unavailable', reason: res.reason, failure: true };
        return readSubject(res, input.subjectId, signal);
      },
      (answer) => answer.failure === true,
      () => ({ kind: 'unavailable', reason: 'circuit open' }),
    ).then(({ failure: _, ...answer }) => answer as SubjectAnswer);
  }

  #headers(token: string | undefined, requestId: string | undefined): Record<string, string> {
    if (token !== undefined && !BEARER_TOKEN.test(token)) throw new RangeError('token must be visible ASCII');
    return {
      accept: 'application/json, application/problem+json',
      ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
      'x-request-id': headerValue(requestId ?? newRequestId(), 'requestId'),
    };
  }

  /** Runs one call under the deadline and the breaker; `isFailure` answers count against the breaker. */
  async #guarded<T>(
    call: (signal: AbortSignal) => Promise<T>,
    isFailure: (answer: T) => boolean,
    whenOpen: () => T,
  ): Promise<T> {
    try {
      return await this.breaker.execute(async () => {
        const deadline = new AbortController();
        const timer = setTimeout(() => deadline.abort(), this.#timeoutMs);
        try {
          const answer = await call(deadline.signal);
          if (isFailure(answer)) throw new BreakerFailure(answer);
          return answer;
        } finally {
          clearTimeout(timer);
        }
      });
    } catch (err) {
      if (err instanceof BreakerFailure) return err.answer as T;
      if (err instanceof CircuitOpenError) return whenOpen();
      throw err;
    }
  }

  async #send(
    url: string,
    method: 'GET' | 'POST',
    headers: Record<string, string>,
    body: string | undefined,
    signal: AbortSignal,
  ): Promise<Dispatcher.ResponseData | { kind: 'retry'; reason: string }> {
    try {
      return await request(url, {
        dispatcher: this.#dispatcher,
        method,
        headers,
        body,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
        signal,
      });
    } catch (err) {
      return { kind: 'retry', reason: transportReason(err, signal, 'connection error') };
    }
  }
}

/**
 * Our validated record in the public PMH shape: the same field names, in the order of the
 * PMH sample record, optional fields left out when absent (never `undefined` or `null`), and
 * nothing else.
 *
 * @example
 * const record = registrationRecordSchema.parse(row);
 * JSON.stringify(toPublicRecord(record));
 */
export function toPublicRecord(r: RegistrationRecord): PublicRegistrationRecord {
  if (r.modificationSeg === '2')
    return defined({
      modificationSeg: r.modificationSeg,
      myNumber: r.myNumber,
      municipalityIdentityKey: r.municipalityIdentityKey,
      orgSpecificCertificateTypeId: r.orgSpecificCertificateTypeId,
      certificationSubKey: r.certificationSubKey,
    });
  const b = r.basicFiveInfo;
  const cap = r.maxCopaymentAmount;
  return defined({
    modificationSeg: r.modificationSeg,
    myNumber: r.myNumber,
    municipalityIdentityKey: r.municipalityIdentityKey,
    basicFiveInfo: {
      name: b.name,
      nameKana: b.nameKana,
      address: b.address,
      dateOfBirth: b.dateOfBirth,
      sex: b.sex,
    },
    orgSpecificCertificateTypeId: r.orgSpecificCertificateTypeId,
    certificationSubKey: r.certificationSubKey,
    certificationName: r.certificationName,
    certificateId: r.certificateId,
    segment: r.segment,
    publicExpenseId: r.publicExpenseId,
    medicalSubsidyInsurerNumber: r.medicalSubsidyInsurerNumber,
    medicalSubsidyRecipientNumber: r.medicalSubsidyRecipientNumber,
    isNotDisclosed: r.isNotDisclosed,
    isAlwaysReimbursement: r.isAlwaysReimbursement,
    incomeSegment: r.incomeSegment,
    severeAndContinuing: r.severeAndContinuing,
    additionalConditions: r.additionalConditions,
    maxCopaymentAmount:
      cap &&
      defined({
        capId: cap.capId,
        capKind: cap.capKind,
        definition: cap.definition,
        rate: cap.rate,
        amount: cap.amount,
        count: cap.count,
      }),
    designatedMedicalInstitutions: r.designatedMedicalInstitutions?.map((d) =>
      defined({
        institutionCode: d.institutionCode,
        institutionName: d.institutionName,
        validFrom: d.validFrom,
        validTo: d.validTo,
      }),
    ),
    validFrom: r.validFrom,
    validTo: r.validTo,
    forcedExpiryDate: r.forcedExpiryDate,
    historyKey: r.historyKey,
    isDeleted: r.isDeleted,
    certificationDetail: r.certificationDetail?.map((d) => ({
      displayOrder: d.displayOrder,
      itemName: d.itemName,
      itemValue: d.itemValue,
    })),
  });
}

/**
 * An undici Pool for the remote PMH: keep-alive, `connections` sockets at most (default 10),
 * a 10 s connect deadline; `tls` (CA to trust, our client certificate and key) for mutual TLS —
 * only with an https URL.
 *
 * @example
 * const dispatcher = createRemotePmhDispatcher('https://pmh.example:4000/pmh/v1', { tls: { ca, cert, key } });
 * // on shutdown: await dispatcher.close();
 */
export function createRemotePmhDispatcher(
  baseUrl: string,
  opts: { connections?: number; tls?: OutboundTls } = {},
): Dispatcher {
  return createPool(baseUrl, { ...opts, connectTimeoutMs: 10_000 });
}

type Defined<T> = { [K in keyof T as undefined extends T[K] ? never : K]: T[K] } & {
  [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined>;
};

/** `o` without its `undefined` members. */
function defined<T extends Record<string, unknown>>(o: T): Defined<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Defined<T>;
}

function checkedPublicRecord(record: RegistrationRecord, index: number): PublicRegistrationRecord {
  let parsed: ReturnType<typeof publicRegistrationRecordSchema.safeParse> | undefined;
  try {
    parsed = publicRegistrationRecordSchema.safeParse(toPublicRecord(record));
  } catch {
    parsed = undefined;
  }
  if (!parsed?.success) throw new Error(`record does not fit the PMH shape at index ${index}`);
  return parsed.data;
}

function headerValue(value: string, name: string): string {
  if (!HEADER_TOKEN.test(value)) throw new RangeError(`${name} must be 1–255 visible ASCII characters`);
  return value;
}
