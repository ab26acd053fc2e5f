import { createRoute, z } from '@hono/zod-openapi';
import { SCOPES } from '../../identity/index.js';
import {
  accessHistorySchema,
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
import {
  deliveryViewSchema,
  type Outbox,
  submissionAcceptedSchema,
  submissionViewSchema,
} from '../intake/index.js';

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
  if (result.reason === 'unsupported') throw new Problem('not-available-in-remote-mode');
  if (result.reason === 'unavailable') throw new Problem('pmh-unavailable');
  throw new Problem('validation-failed', result.errors);
}

const registerSubjects = createRoute({
  method: 'post',
  path: '/subjects',
  operationId: 'registerSubjects',
  tags: [TAG],
  summary: 'Register, update or delete subjects and entitlements (all or nothing)',
  description:
    'A JSON array of records in the shape of the PMH municipality API. If any record is invalid, nothing is stored and the 422 answer lists every bad record by index and field. With the embedded hub the answer (200) has one result per record; when the gateway forwards to a remote PMH (PMH_MODE=remote) the records are stored for delivery in the same transaction and the answer is 202 with a submission id: follow each record with getSubmission.',
  security,
  request: { body: { required: true, content: { 'application/json': { schema: registrationBatchSchema } } } },
  responses: {
    200: json(
      z.object({ results: z.array(recordResultSchema) }).openapi('RegistrationResults'),
      'One result per record',
    ),
    202: json(submissionAcceptedSchema, 'Remote mode: stored for delivery to PMH'),
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
  responses: {
    200: json(
      subjectViewSchema
        .extend({
          delivery: deliveryViewSchema
            .optional()
            .openapi({ description: 'Remote mode: the latest delivery to PMH that named this subject' }),
        })
        .openapi('RegisteredSubject'),
      'The subject',
    ),
    ...NOT_FOUND,
    ...COMMON_PROBLEMS,
  },
});

const getSubmission = createRoute({
  method: 'get',
  path: '/submissions/{submissionId}',
  operationId: 'getSubmission',
  tags: [TAG],
  summary: 'Remote mode: where each record of a registration is on its way to PMH',
  description:
    "Per record: queued, sent, accepted (with PMH's outcome and subject id), rejected (with PMH's reason codes) or given-up.",
  security,
  request: {
    params: z.object({ submissionId: z.uuid().openapi({ param: { name: 'submissionId', in: 'path' } }) }),
  },
  responses: {
    200: json(submissionViewSchema, 'The submission'),
    404: problemResponse('No such submission for this client'),
    ...COMMON_PROBLEMS,
  },
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

const getAccessHistory = createRoute({
  method: 'get',
  path: '/subjects/{subjectId}/access-history',
  operationId: 'getAccessHistory',
  tags: [TAG],
  summary: 'Who saw or changed a subject, and when: for a disclosure request (開示請求)',
  description:
    "The subject's entries in the tenant's audit log (registration, reads, changes, numbering) and the clinic and My Number Portal lookups of its PMH-ID, newest first; never a value. Needs scope my-number:view, as handling a disclosure request is privileged work; the reading itself is audited. The logs are not indexed by subject: meant for the occasional request, its cost grows with the log.",
  security,
  request: { params: subjectParams },
  responses: {
    200: json(accessHistorySchema, 'The access history'),
    ...NOT_FOUND,
    501: problemResponse('Remote mode: PMH keeps this log'),
    ...COMMON_PROBLEMS,
  },
});

/**
 * Mounts the municipality-side registration operations (seed ㉖) on a router.
 *
 * @example
 * registerRegistrationRoutes(api, { hub });
 */
export function registerRegistrationRoutes(app: Router, deps: { hub: PmhPort; outbox?: Outbox }): void {
  const outbox = deps.outbox;
  app.openapi(registerSubjects, async (c) => {
    const principal = requireScope(c, SCOPES.register);
    if (outbox) {
      const accepted = await outbox.acceptRegistration(principal, c.req.valid('json'), c.get('requestId'));
      return c.json({ ...accepted, state: 'queued' as const }, 202);
    }
    const results = await deps.hub.submit(hubCaller(c), { records: c.req.valid('json') });
    return c.json({ results }, 200);
  });

  app.openapi(getSubject, async (c) => {
    const principal = requireScope(c, SCOPES.read);
    const { subjectId } = c.req.valid('param');
    const [view, delivery] = await Promise.all([
      deps.hub.getSubject(hubCaller(c), subjectId, {
        showMyNumber: principal.scopes.has(SCOPES.myNumberView),
      }),
      outbox?.deliveryOfSubject(principal.tenantCode, principal.businessId, subjectId),
    ]);
    if (!view) throw new Problem('not-found');
    return c.json(delivery ? { ...view, delivery } : view, 200);
  });

  app.openapi(getAccessHistory, async (c) => {
    requireScope(c, SCOPES.myNumberView);
    return c.json(unwrap(await deps.hub.accessHistory(hubCaller(c), c.req.valid('param').subjectId)), 200);
  });

  app.openapi(getSubmission, async (c) => {
    const principal = requireScope(c, SCOPES.read);
    const view = outbox
      ? await outbox.getSubmission(principal, c.req.valid('param').submissionId)
      : undefined;
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
