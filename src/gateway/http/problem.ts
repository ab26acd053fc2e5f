import { z } from '@hono/zod-openapi';
import type { FieldError } from '../../pmh/index.js';
import { maskNumberSegments } from './mask.js';

/**
 * The closed list of problem codes with their HTTP status and Japanese title
 * (RFC 9457). `type` is `/problems/<code>`, a page served by the gateway itself.
 */
export const PROBLEMS = {
  'validation-failed': {
    status: 422,
    title: '入力内容に誤りがあります',
    detail: 'One or more fields are invalid; see errors.',
  },
  'malformed-request': {
    status: 400,
    title: 'リクエストの形式が正しくありません',
    detail: 'The request body could not be read (e.g. invalid JSON).',
  },
  unauthorized: { status: 401, title: '認証が必要です', detail: 'A valid bearer token is required.' },
  forbidden: {
    status: 403,
    title: 'この操作を行う権限がありません',
    detail: 'The client lacks the scope this operation needs.',
  },
  'not-found': { status: 404, title: '対象が見つかりません', detail: 'No such resource for this client.' },
  'method-not-allowed': {
    status: 405,
    title: 'この操作は許可されていません',
    detail: 'The method is not supported on this path.',
  },
  'linkage-key-refused': {
    status: 422,
    title: '連携キーを確認できません',
    detail: 'The linkage key is malformed, altered, expired, or already used; issue a new one.',
  },
  'inquiry-not-permitted': {
    status: 403,
    title: '照会は許可されていません',
    detail:
      'The permit list does not allow this inquiry; errors[0].code says why. Nothing was sent to the provider.',
  },
  conflict: {
    status: 409,
    title: '処理が競合しました',
    detail: 'The request conflicts with the current state; retry it.',
  },
  'payload-too-large': {
    status: 413,
    title: 'データが大きすぎます',
    detail: 'The request body exceeds the limit.',
  },
  'unsupported-media-type': {
    status: 415,
    title: '対応していないデータ形式です',
    detail: 'Use the content type and charset this operation documents.',
  },
  'not-ready': {
    status: 503,
    title: 'サービスの準備ができていません',
    detail: 'A dependency is not reachable; retry later.',
  },
  'not-available-in-remote-mode': {
    status: 501,
    title: '接続先のPMHではこの操作を利用できません',
    detail:
      'The gateway forwards to a remote PMH whose public API has no such operation; make the change in a registration record instead.',
  },
  'pmh-unavailable': {
    status: 503,
    title: 'PMHに接続できません',
    detail: 'The remote PMH did not answer in time or answered outside its contract; retry later.',
  },
  'internal-error': {
    status: 500,
    title: 'システム内部でエラーが発生しました',
    detail: 'An unexpected error occurred; quote the request id when reporting it.',
  },
} as const;

/** One of {@link PROBLEMS}. */
export type ProblemCode = keyof typeof PROBLEMS;

/** The media type of every error answer. */
export const PROBLEM_MEDIA_TYPE = 'application/problem+json';

/** The relative URI naming a problem code. */
export const problemType = (code: ProblemCode) => `/problems/${code}`;

/**
 * A problem the gateway answers with. Thrown from middleware and handlers, turned into
 * `application/problem+json` by the one `onError`.
 *
 * @example
 * throw new Problem('forbidden');
 */
export class Problem extends Error {
  override name = 'Problem';
  constructor(
    readonly code: ProblemCode,
    readonly errors?: readonly FieldError[],
    readonly detailText?: string,
  ) {
    super(code);
  }
}

const fieldErrorSchema = z
  .object({
    index: z
      .number()
      .int()
      .optional()
      .openapi({ description: 'Record index in a batch, or row number in a linkage file' }),
    pointer: z
      .string()
      .openapi({ description: 'RFC 6901 JSON pointer to the field', example: '/0/myNumber' }),
    code: z.string().openapi({ example: 'my-number-check-digit' }),
  })
  .openapi('FieldError');

/** The problem+json body (RFC 9457). It never carries a submitted value, nor a 個人番号 put into the path or a field name. */
export const problemSchema = z
  .object({
    type: z.string().openapi({ example: '/problems/validation-failed' }),
    title: z.string().openapi({ example: '入力内容に誤りがあります' }),
    status: z.number().int(),
    code: z.string(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    requestId: z.string().optional(),
    errors: z.array(fieldErrorSchema).optional(),
  })
  .openapi('Problem');

/** The body of a problem answer. */
export type ProblemBody = z.infer<typeof problemSchema>;

/**
 * Builds the body of a problem answer.
 *
 * @example
 * problemBody('not-found', { instance: '/api/v1/subjects/…', requestId });
 */
export function problemBody(
  code: ProblemCode,
  extra: { instance?: string; requestId?: string; errors?: readonly FieldError[]; detail?: string } = {},
): ProblemBody {
  const p = PROBLEMS[code];
  const body: ProblemBody = {
    type: problemType(code),
    title: p.title,
    status: p.status,
    code,
    detail: extra.detail ?? p.detail,
  };
  // The path and the field names are the client's: a 個人番号 put into either by mistake is not repeated.
  if (extra.instance) body.instance = maskNumberSegments(extra.instance);
  if (extra.requestId) body.requestId = extra.requestId;
  if (extra.errors) body.errors = extra.errors.map((e) => ({ ...e, pointer: maskNumberSegments(e.pointer) }));
  return body;
}

/** The OpenAPI response entry for a JSON answer. */
export function jsonContent<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } };
}

/** The OpenAPI response entry for a problem status. */
export function problemResponse(description: string) {
  return { description, content: { [PROBLEM_MEDIA_TYPE]: { schema: problemSchema } } };
}

/** The problem responses every authenticated operation may give. */
export const COMMON_PROBLEMS = {
  401: problemResponse('Missing or unknown bearer token'),
  403: problemResponse('The client lacks the scope'),
  500: problemResponse('Unexpected error'),
} as const;
