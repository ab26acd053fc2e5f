import { createHash, timingSafeEqual } from 'node:crypto';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import { createRouter, type GatewayEnv } from '../../gateway/http/context.js';
import { installProblemHandling } from '../../gateway/http/errors.js';
import { requestContext } from '../../gateway/http/middleware.js';
import { COMMON_PROBLEMS, Problem, problemResponse } from '../../gateway/http/problem.js';
import { numberingAnswerSchema, numberingRequestSchema } from './insurer.schemas.js';
import type { InsurerService } from './insurer.service.js';

const requestPmhIds = createRoute({
  method: 'post',
  path: '/pmh-id-requests',
  operationId: 'requestPmhIds',
  tags: ['Insurer intermediate server'],
  summary: 'Number subjects with a PMH-ID after the basic-info cross-check (突合)',
  description:
    'Answers one item per subject, in order: exactly the PMH-ID and the 個人番号 as sent, with the outcome; a failed cross-check gives field verdicts, never values. The same Idempotency-Key returns the first answer.',
  security: [{ bearerAuth: [] }],
  request: {
    headers: z.object({ 'idempotency-key': z.string().min(1).max(200) }),
    body: { required: true, content: { 'application/json': { schema: numberingRequestSchema } } },
  },
  responses: {
    200: {
      description: 'One answer per subject',
      content: { 'application/json': { schema: numberingAnswerSchema } },
    },
    422: problemResponse('Invalid request'),
    ...COMMON_PROBLEMS,
  },
});

const getEligibilityLink = createRoute({
  method: 'get',
  path: '/eligibility-links/{bindingNumber}',
  operationId: 'getEligibilityLink',
  tags: ['Insurer intermediate server'],
  summary: 'The PMH-ID linked to a 紐付番号 (binding number), for the online eligibility system',
  security: [{ bearerAuth: [] }],
  request: {
    params: z.object({
      bindingNumber: z
        .string()
        .regex(/^[A-Za-z0-9]{1,32}$/)
        .openapi({ param: { name: 'bindingNumber', in: 'path' } }),
    }),
  },
  responses: {
    200: {
      description: 'The link',
      content: {
        'application/json': {
          schema: z.object({ bindingNumber: z.string(), pmhId: z.string() }).openapi('EligibilityLink'),
        },
      },
    },
    404: problemResponse('No PMH-ID for this binding number (yet)'),
    ...COMMON_PROBLEMS,
  },
});

function serviceAuth(token: string): MiddlewareHandler<GatewayEnv> {
  const expected = createHash('sha256').update(token).digest();
  return async (c, next) => {
    const given = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1] ?? '';
    const actual = createHash('sha256').update(given).digest();
    if (!given || !timingSafeEqual(actual, expected)) throw new Problem('unauthorized');
    await next();
  };
}

/**
 * Mounts `requestPmhIds` on a router (the gateway mounts it under `/insurer/v1` when the
 * server runs in process; {@link createInsurerApp} serves it alone).
 */
export function registerInsurerRoutes(
  app: ReturnType<typeof createRouter>,
  deps: { insurer: InsurerService; token: string },
): void {
  app.use('*', serviceAuth(deps.token));
  app.openapi(requestPmhIds, async (c) => {
    const items = await deps.insurer.requestPmhIds({
      idempotencyKey: c.req.valid('header')['idempotency-key'],
      items: c.req.valid('json').items,
    });
    return c.json({ items }, 200);
  });
  app.openapi(getEligibilityLink, async (c) => {
    const bindingNumber = c.req.valid('param').bindingNumber;
    const pmhId = await deps.insurer.pmhIdForBinding(bindingNumber);
    if (!pmhId) throw new Problem('not-found');
    return c.json({ bindingNumber, pmhId }, 200);
  });
}

/**
 * The insurer intermediate server as its own HTTP server: `/insurer/v1/pmh-id-requests`,
 * `/healthz`, `/openapi.json`.
 *
 * @example
 * serve({ fetch: createInsurerApp({ insurer, token, logger }).fetch, port: 3001 });
 */
export function createInsurerApp(deps: { insurer: InsurerService; token: string; logger: Logger }) {
  const app = new OpenAPIHono<GatewayEnv>();
  app.use('*', requestContext(deps.logger));
  installProblemHandling(app);
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  const api = createRouter();
  registerInsurerRoutes(api, deps);
  app.route('/insurer/v1', api);
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', { type: 'http', scheme: 'bearer' });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'insurer intermediate server (simulated)', version: '0.1.0' },
  });
  return app;
}
