import type { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { GatewayEnv } from './context.js';
import { PROBLEM_MEDIA_TYPE, PROBLEMS, Problem, type ProblemCode, problemBody } from './problem.js';

const HTTP_STATUS_PROBLEM: Record<number, ProblemCode> = {
  400: 'malformed-request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  405: 'method-not-allowed',
  413: 'payload-too-large',
  415: 'unsupported-media-type',
};

/**
 * The one `onError` and `notFound` of every server in the project: a {@link Problem}, a
 * framework HTTP error or an unexpected error all become `application/problem+json`; an
 * unexpected error is logged by name and stack only (never a value), and answers 500.
 *
 * @example
 * installProblemHandling(app);
 */
export function installProblemHandling<E extends GatewayEnv>(app: Hono<E>): void {
  app.onError((err, c) => {
    const requestId = c.get('requestId');
    let code: ProblemCode;
    let errors: Problem['errors'];
    if (err instanceof Problem) {
      code = err.code;
      errors = err.errors;
    } else if (err instanceof HTTPException) {
      code = HTTP_STATUS_PROBLEM[err.status] ?? 'internal-error';
    } else {
      code = 'internal-error';
      c.get('logger')?.error(
        {
          err: {
            name: (err as Error).name,
            code: (err as { code?: unknown }).code,
            stack: (err as Error).stack,
          },
        },
        'unhandled error',
      );
    }
    if (code === 'unauthorized') c.header('WWW-Authenticate', 'Bearer realm="pmh-gateway"');
    return c.body(
      JSON.stringify(problemBody(code, { instance: c.req.path, requestId, ...(errors ? { errors } : {}) })),
      {
        status: PROBLEMS[code].status,
        headers: { 'Content-Type': PROBLEM_MEDIA_TYPE },
      },
    );
  });
  app.notFound((c) =>
    c.body(
      JSON.stringify(problemBody('not-found', { instance: c.req.path, requestId: c.get('requestId') })),
      {
        status: 404,
        headers: { 'Content-Type': PROBLEM_MEDIA_TYPE },
      },
    ),
  );
}
