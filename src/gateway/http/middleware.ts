import { randomUUID } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import type { Principal, Scope } from '../../identity/index.js';
import type { HubCaller } from '../../pmh/index.js';
import type { GatewayEnv } from './context.js';
import { hasTwelveDigitRun } from './mask.js';
import { Problem } from './problem.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * A new request id. A UUID whose last group is twelve digits (one in ~280) would be masked in
 * the logs as a possible 個人番号, and the log line could not be found by the id the caller
 * was given: such a UUID is drawn again. For outgoing requests too.
 *
 * @example
 * headers['x-request-id'] = newRequestId();
 */
export function newRequestId(): string {
  for (;;) {
    const id = randomUUID();
    if (!hasTwelveDigitRun(id)) return id;
  }
}

/**
 * Takes the caller's `X-Request-Id` when well-formed, or makes one; echoes it; logs the
 * request. A caller's id holding a run of twelve digits is replaced (the logs would mask it, so
 * it could never be matched), and the id echoed is the one logged.
 */
export function requestContext(logger: Logger): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => {
    const given = c.req.header('x-request-id');
    const requestId = given && REQUEST_ID.test(given) && !hasTwelveDigitRun(given) ? given : newRequestId();
    const started = performance.now();
    c.set('requestId', requestId);
    c.set('logger', logger.child({ requestId }));
    c.header('X-Request-Id', requestId);
    await next();
    logger.info(
      {
        requestId,
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(performance.now() - started),
      },
      'request',
    );
  };
}

/** Requires a bearer token of a live client; the tenant comes from the token only. */
export function bearerAuth(
  authenticate: (token: string) => Promise<Principal | undefined>,
): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const principal = match?.[1] ? await authenticate(match[1]) : undefined;
    if (!principal) {
      c.header('WWW-Authenticate', 'Bearer realm="pmh-gateway"');
      throw new Problem('unauthorized');
    }
    c.set('principal', principal);
    await next();
  };
}

/**
 * The caller, checked for a scope.
 *
 * @example
 * const principal = requireScope(c, 'register');
 */
export function requireScope(c: Context<GatewayEnv>, scope: Scope): Principal {
  const principal = c.get('principal');
  if (!principal.scopes.has(scope)) throw new Problem('forbidden');
  return principal;
}

/** The hub caller for an authenticated request. */
export function hubCaller(c: Context<GatewayEnv>): HubCaller {
  const p = c.get('principal');
  return {
    tenantCode: p.tenantCode,
    businessId: p.businessId,
    actor: { kind: 'client', id: p.clientId },
    requestId: c.get('requestId'),
  };
}
