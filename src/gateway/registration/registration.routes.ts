import { createRoute, z } from '@hono/zod-openapi';
import { SCOPES } from '../../identity/index.js';
import {
  type ChangeResult,
  controlFlagsSchema,
  dateField,
  entitlementPatchSchema,
  type PmhPort,
  recordResultSchema,
  registrationBatchSchema,
  subjectViewSchema,
} from '../../pmh/index.js';
import type { Router } from '../http/context.js';
import { hubCaller, requireScope } from '../http/middleware.js';
import { COMMON_PROBLEMS, jsonContent, Problem, problemResponse } from '../http/problem.js';

const TAG = 'Registration';
const security = [{ bearerAuth: [] }];
const subjectParams = z.object({ subjectId: z.uuid().openapi({ param: { name: 'subjectId', in: 'path' } }) });
const entitlementParams = subjectParams.extend({
  entitlementId: z.uuid().openapi({ param: { name: 'entitlementId', in: 'path' } }),
});
const json = jsonContent;
const NOT_FOUND = { 404: problemResponse('No such subject or entitlement for this client') };
const INVALID = { 422: problemResponse('Invalid input: every failing field by pointer and code') };

function unwrap<T>(result: ChangeResult<T>): T {
  if (result.ok) return result.value;
  if (result.reason === 'not-found') throw new Problem('not-found');
  throw new Problem('validation-failed', result.errors);
}

const registerSubjects = createRoute({
  method: 'post',
  path: '/subjects/registrations',
  operationId: 'registerSubjects',
  tags: [TAG],
  summary: 'Register, update or delete subjects and entitlements (all or nothing)',
  description:
    'A JSON array of records in the shape of the PMH municipality API. If any record is invalid, nothing is stored and the 422 answer lists every bad record by index and field.',
  security,
  request: { body: { required: true, content: { 'application/json': { schema: registrationBatchSchema } } } },
  responses: {
    200: json(
      z.object({ results: z.array(recordResultSchema) }).openapi('RegistrationResults'),
      'One result per record',
    ),
    ...INVALID,
    ...COMMON_PROBLEMS,
  },
});

const getSubject = createRoute({
  method: 'get',
  path: '/subjects/{subjectId}',
  operationId: 'getSubject',
  tags: [TAG],
  summary: 'A subject with its entitlements (個人番号 masked without scope my-number:view)',
  security,
  request: { params: subjectParams },
  responses: { 200: json(subjectViewSchema, 'The subject'), ...NOT_FOUND, ...COMMON_PROBLEMS },
});

const updateEntitlement = createRoute({
  method: 'patch',
  path: '/subjects/{subjectId}/entitlements/{entitlementId}',
  operationId: 'updateEntitlement',
  tags: [TAG],
  summary: 'Change some fields of an entitlement',
  security,
  request: {
    params: entitlementParams,
    body: { required: true, content: { 'application/json': { schema: entitlementPatchSchema } } },
  },
  responses: {
    200: json(subjectViewSchema, 'The subject after the change'),
    ...NOT_FOUND,
    ...INVALID,
    ...COMMON_PROBLEMS,
  },
});

const expireBody = z.strictObject({ forcedExpiryDate: dateField }).openapi('ExpireEntitlement');
const expireEntitlement = createRoute({
  method: 'post',
  path: '/subjects/{subjectId}/entitlements/{entitlementId}/expire',
  operationId: 'expireEntitlement',
  tags: [TAG],
  summary: 'Set the forced expiry date (強制失効日) of an entitlement',
  security,
  request: {
    params: entitlementParams,
    body: { required: true, content: { 'application/json': { schema: expireBody } } },
  },
  responses: {
    200: json(subjectViewSchema, 'The subject after the change'),
    ...NOT_FOUND,
    ...INVALID,
    ...COMMON_PROBLEMS,
  },
});

const deleteSubject = createRoute({
  method: 'delete',
  path: '/subjects/{subjectId}',
  operationId: 'deleteSubject',
  tags: [TAG],
  summary: 'Delete a subject and its entitlements (owning tenant only)',
  security,
  request: { params: subjectParams },
  responses: { 204: { description: 'Deleted' }, ...NOT_FOUND, ...COMMON_PROBLEMS },
});

const setControlFlags = createRoute({
  method: 'put',
  path: '/subjects/{subjectId}/control-flags',
  operationId: 'setControlFlags',
  tags: [TAG],
  summary: 'Set 不開示 (isNotDisclosed) and/or 閲覧停止 (viewingSuspended)',
  security,
  request: {
    params: subjectParams,
    body: { required: true, content: { 'application/json': { schema: controlFlagsSchema } } },
  },
  responses: {
    200: json(subjectViewSchema, 'The subject after the change'),
    ...NOT_FOUND,
    ...INVALID,
    ...COMMON_PROBLEMS,
  },
});

/**
 * Mounts the municipality-side registration operations (seed ㉖) on a router.
 *
 * @example
 * registerRegistrationRoutes(api, { hub });
 */
export function registerRegistrationRoutes(app: Router, deps: { hub: PmhPort }): void {
  app.openapi(registerSubjects, async (c) => {
    requireScope(c, SCOPES.register);
    const results = await deps.hub.submit(hubCaller(c), { records: c.req.valid('json') });
    return c.json({ results }, 200);
  });

  app.openapi(getSubject, async (c) => {
    const principal = requireScope(c, SCOPES.read);
    const view = await deps.hub.getSubject(hubCaller(c), c.req.valid('param').subjectId, {
      showMyNumber: principal.scopes.has(SCOPES.myNumberView),
    });
    if (!view) throw new Problem('not-found');
    return c.json(view, 200);
  });

  app.openapi(updateEntitlement, async (c) => {
    requireScope(c, SCOPES.register);
    const { subjectId, entitlementId } = c.req.valid('param');
    return c.json(
      unwrap(await deps.hub.updateEntitlement(hubCaller(c), subjectId, entitlementId, c.req.valid('json'))),
      200,
    );
  });

  app.openapi(expireEntitlement, async (c) => {
    requireScope(c, SCOPES.register);
    const { subjectId, entitlementId } = c.req.valid('param');
    const { forcedExpiryDate } = c.req.valid('json');
    return c.json(
      unwrap(await deps.hub.expireEntitlement(hubCaller(c), subjectId, entitlementId, forcedExpiryDate)),
      200,
    );
  });

  app.openapi(deleteSubject, async (c) => {
    requireScope(c, SCOPES.register);
    unwrap(await deps.hub.deleteSubject(hubCaller(c), c.req.valid('param').subjectId));
    return c.body(null, 204);
  });

  app.openapi(setControlFlags, async (c) => {
    requireScope(c, SCOPES.register);
    return c.json(
      unwrap(
        await deps.hub.setControlFlags(hubCaller(c), c.req.valid('param').subjectId, c.req.valid('json')),
      ),
      200,
    );
  });
}
