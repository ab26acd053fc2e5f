import { createRoute, z } from '@hono/zod-openapi';
import { SCOPES } from '../../identity/index.js';
import type { Router } from '../http/context.js';
import { requireScope } from '../http/middleware.js';
import { COMMON_PROBLEMS, Problem, problemResponse } from '../http/problem.js';
import { linkageFileViewSchema as linkageFileView } from './intake.schemas.js';
import type { IntakeService } from './intake.service.js';

const TAG = 'Linkage files';
const security = [{ bearerAuth: [] }];
const FILE_NAME = /^[^\\/<>:"|?*]{1,255}$/;
const fileName = z
  .string()
  .regex(FILE_NAME)
  .refine((s) => ![...s].some((ch) => ch.charCodeAt(0) < 0x20), { params: { code: 'invalid-format' } });

const uploadLinkageFile = createRoute({
  method: 'post',
  path: '/linkage-files',
  operationId: 'uploadLinkageFile',
  tags: [TAG],
  summary: 'Upload a linkage file (連携ファイル) as CSV',
  description:
    'The raw CSV is the request body (not multipart), UTF-8 or CP932 (from the charset of the Content-Type, else detected). ' +
    'Answers 202 once the whole body is stored, encrypted; rows are then processed in the background (see getLinkageFile). See docs/LINKAGE-FILE.md.',
  security,
  request: {
    query: z.object({ fileName: fileName.optional() }),
    headers: z.object({ 'x-file-name': fileName.optional() }),
    body: {
      required: true,
      content: { 'text/csv': { schema: z.string().openapi({ format: 'binary' }) } },
    },
  },
  responses: {
    202: {
      description: 'Stored; processing follows',
      content: { 'application/json': { schema: linkageFileView } },
    },
    413: problemResponse('The file is larger than the limit'),
    415: problemResponse('Not CSV, or a charset other than UTF-8 or Shift_JIS/CP932'),
    422: problemResponse('The header row names unknown or duplicate columns, or lacks required ones'),
    ...COMMON_PROBLEMS,
  },
});

const getLinkageFile = createRoute({
  method: 'get',
  path: '/linkage-files/{linkageFileId}',
  operationId: 'getLinkageFile',
  tags: [TAG],
  summary: 'Status, counts and row outcomes of a linkage file (paginated)',
  security,
  request: {
    params: z.object({ linkageFileId: z.uuid().openapi({ param: { name: 'linkageFileId', in: 'path' } }) }),
    query: z.object({
      outcome: z.enum(['rejected']).optional().openapi({ description: 'Only rejected rows' }),
      after: z.coerce.number().int().min(0).default(0),
      limit: z.coerce.number().int().min(0).max(1000).default(100),
    }),
  },
  responses: {
    200: { description: 'The linkage file', content: { 'application/json': { schema: linkageFileView } } },
    404: problemResponse('No such linkage file for this client'),
    ...COMMON_PROBLEMS,
  },
});

/**
 * Mounts the linkage-file operations on a router.
 *
 * @example
 * registerIntakeRoutes(api, { intake });
 */
export function registerIntakeRoutes(app: Router, deps: { intake: IntakeService }): void {
  app.openapi(uploadLinkageFile, async (c) => {
    const principal = requireScope(c, SCOPES.register);
    const contentType = c.req.header('content-type');
    const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
    if (mediaType !== 'text/csv' && mediaType !== 'application/csv')
      throw new Problem('unsupported-media-type');
    const fileName = c.req.valid('query').fileName ?? c.req.valid('header')['x-file-name'] ?? 'linkage.csv';
    const result = await deps.intake.receive(principal, {
      fileName,
      contentType,
      body: c.req.raw.body,
      requestId: c.get('requestId'),
    });
    if (!result.ok) {
      if (result.reason === 'unsupported-charset') throw new Problem('unsupported-media-type');
      if (result.reason === 'too-large') throw new Problem('payload-too-large');
      throw new Problem('validation-failed', result.errors);
    }
    c.header('Location', `${c.req.path}/${result.view.linkageFileId}`);
    return c.json(result.view, 202);
  });

  app.openapi(getLinkageFile, async (c) => {
    const principal = requireScope(c, SCOPES.read);
    const { outcome, after, limit } = c.req.valid('query');
    const view = await deps.intake.get(principal, c.req.valid('param').linkageFileId, {
      onlyRejected: outcome === 'rejected',
      after,
      limit,
    });
    if (!view) throw new Problem('not-found');
    return c.json(view, 200);
  });
}
