import { createRoute, z } from '@hono/zod-openapi';
import type { Router } from '../gateway/http/context.js';
import { hubCaller, requireScope } from '../gateway/http/middleware.js';
import { COMMON_PROBLEMS, Problem, problemResponse } from '../gateway/http/problem.js';
import { SCOPES } from '../identity/index.js';
import type { PmhPort } from './pmh.port.js';
import { recordResultSchema, registrationBatchSchema } from './pmh.schemas.js';
import { subjectViewSchema } from './pmh.views.js';

const TAG = 'PMH hub';
const security = [{ bearerAuth: [] }];

const postRegistrationTasks = createRoute({
  method: 'post',
  path: '/registration-tasks',
  operationId: 'postRegistrationTasks',
  tags: [TAG],
  summary: 'The hub: register a batch of records (PMH 医療費助成対象者情報登録API)',
  description:
    'The hub side of registration, as the public PMH municipality API names it. An `Idempotency-Key` makes a retried batch return the first answer without applying it twice.',
  security,
  request: {
    headers: z.object({ 'idempotency-key': z.string().min(1).max(200).optional() }),
    body: { required: true, content: { 'application/json': { schema: registrationBatchSchema } } },
  },
  responses: {
    200: {
      description: 'One result per record',
      content: { 'application/json': { schema: z.object({ results: z.array(recordResultSchema) }) } },
    },
    422: problemResponse('Invalid records'),
    ...COMMON_PROBLEMS,
  },
});

const getSubjectRecord = createRoute({
  method: 'get',
  path: '/subjects/{subjectId}',
  operationId: 'getSubjectRecord',
  tags: [TAG],
  summary: 'The hub: one subject with its entitlements',
  security,
  request: {
    params: z.object({ subjectId: z.uuid().openapi({ param: { name: 'subjectId', in: 'path' } }) }),
  },
  responses: {
    200: { description: 'The subject', content: { 'application/json': { schema: subjectViewSchema } } },
    404: problemResponse('No such subject for this client'),
    ...COMMON_PROBLEMS,
  },
});

/**
 * Mounts the hub's own API (under `/pmh/v1`), the surface a remote adapter talks to.
 *
 * @example
 * registerHubRoutes(pmhRouter, { hub });
 */
export function registerHubRoutes(app: Router, deps: { hub: PmhPort }): void {
  app.openapi(postRegistrationTasks, async (c) => {
    requireScope(c, SCOPES.register);
    const key = c.req.valid('header')['idempotency-key'];
    const results = await deps.hub.submit(hubCaller(c), {
      records: c.req.valid('json'),
      idempotencyKey: key === undefined ? undefined : `api:${c.get('principal').clientId}:${key}`,
    });
    return c.json({ results }, 200);
  });

  app.openapi(getSubjectRecord, async (c) => {
    const principal = requireScope(c, SCOPES.read);
    const view = await deps.hub.getSubject(hubCaller(c), c.req.valid('param').subjectId, {
      showMyNumber: principal.scopes.has(SCOPES.myNumberView),
    });
    if (!view) throw new Problem('not-found');
    return c.json(view, 200);
  });
}
