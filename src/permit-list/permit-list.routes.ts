import { createRoute, z } from '@hono/zod-openapi';
import type { Router } from '../gateway/http/context.js';
import { requireScope } from '../gateway/http/middleware.js';
import { COMMON_PROBLEMS, Problem, problemResponse } from '../gateway/http/problem.js';
import { SCOPES } from '../identity/index.js';
import type { PermitListStore } from './permit-list.service.js';

const TAG = 'Permit list';
const security = [{ bearerAuth: [] }];
const versionSchema = z
  .object({
    version: z.string(),
    publishedAt: z.string(),
    digest: z.string(),
    entries: z.number().int(),
    loadedAt: z.string(),
    loadedBy: z.string(),
  })
  .openapi('PermitListVersion');

const getPermitList = createRoute({
  method: 'get',
  path: '/permit-list',
  operationId: 'getPermitList',
  tags: [TAG],
  summary: 'The permit list (照会許可用照合リスト) in force, with its version',
  security,
  responses: {
    200: {
      description: 'The version in force and its entries',
      content: {
        'application/json': {
          schema: z.object({ version: versionSchema, file: z.unknown() }).openapi('PermitList'),
        },
      },
    },
    ...COMMON_PROBLEMS,
  },
});

const replacePermitList = createRoute({
  method: 'put',
  path: '/permit-list',
  operationId: 'replacePermitList',
  tags: [TAG],
  summary: 'Replace the permit list at run time (audited, with the operator named in X-Operator)',
  description:
    'The body is a whole permit-list file (the format of src/permit-list/permit-list.v1.json). It is validated first; an invalid file or one with the version already in force changes nothing.',
  security,
  request: {
    headers: z.object({ 'x-operator': z.string().min(1).max(100) }),
    body: {
      required: true,
      content: {
        'application/json': { schema: z.record(z.string(), z.unknown()).openapi('PermitListFile') },
      },
    },
  },
  responses: {
    200: {
      description: 'Replaced',
      content: {
        'application/json': {
          schema: z.object({ previous: versionSchema.nullable(), current: versionSchema }),
        },
      },
    },
    409: problemResponse('The file carries the version already in force'),
    422: problemResponse('The file is not a valid permit list'),
    ...COMMON_PROBLEMS,
  },
});

/**
 * Mounts the operator API of the permit list.
 *
 * @example
 * registerPermitListRoutes(exchangeRouter, { permitList });
 */
export function registerPermitListRoutes(app: Router, deps: { permitList: PermitListStore }): void {
  app.openapi(getPermitList, (c) => {
    requireScope(c, SCOPES.permitListAdmin);
    const version = deps.permitList.version();
    if (!version) throw new Problem('not-ready');
    return c.json({ version, file: deps.permitList.list().file }, 200);
  });

  app.openapi(replacePermitList, async (c) => {
    requireScope(c, SCOPES.permitListAdmin);
    const body = c.req.valid('json');
    const outcome = await deps.permitList.replace(
      body,
      `${c.get('principal').clientId}/${c.req.valid('header')['x-operator']}`,
    );
    if (!outcome.replaced) {
      if (outcome.reason === 'same-version') throw new Problem('conflict');
      throw new Problem(
        'validation-failed',
        outcome.issues.slice(0, 100).map((issue) => ({
          pointer: `/${issue.split(':')[0]?.replace(/\./g, '/') ?? ''}`,
          code: 'invalid-format' as const,
        })),
      );
    }
    return c.json({ previous: outcome.previous, current: outcome.current }, 200);
  });
}
