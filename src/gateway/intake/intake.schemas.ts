import { z } from '@hono/zod-openapi';
import { numberingViewSchema } from '../../pmh/index.js';
import { deliveryViewSchema } from './outbox.schemas.js';

const fieldErrorView = z.object({
  index: z.number().int().optional(),
  pointer: z.string(),
  code: z.string(),
});
/** What getLinkageFile answers: status, counts, and a page of row outcomes. */
export const linkageFileViewSchema = z
  .object({
    linkageFileId: z.uuid(),
    fileName: z.string(),
    status: z.enum(['uploading', 'received', 'processing', 'completed', 'failed']),
    encoding: z.string().nullable(),
    byteSize: z.number().int(),
    receivedAt: z.string(),
    startedAt: z.string().nullable(),
    completedAt: z.string().nullable(),
    totalRows: z.number().int().nullable(),
    processedRows: z.number().int(),
    counts: z.object({
      created: z.number().int(),
      updated: z.number().int(),
      unchanged: z.number().int(),
      deleted: z.number().int(),
      notFound: z.number().int(),
      rejected: z.number().int(),
      queued: z.number().int().openapi({ description: 'Rows waiting for the remote PMH (remote mode)' }),
      givenUp: z.number().int().openapi({ description: 'Rows whose delivery was given up (remote mode)' }),
    }),
    resumeCount: z.number().int(),
    lastResumedFrom: z.number().int().nullable(),
    failure: z.string().nullable(),
    rows: z.array(
      z.object({
        rowNo: z.number().int(),
        line: z.number().int(),
        outcome: z.enum([
          'created',
          'updated',
          'unchanged',
          'deleted',
          'not-found',
          'rejected',
          'queued',
          'given-up',
        ]),
        subjectId: z.uuid().nullable(),
        errors: z.array(fieldErrorView).optional(),
        numbering: numberingViewSchema
          .optional()
          .openapi({ description: "The subject's PMH-ID numbering state now" }),
        delivery: deliveryViewSchema
          .optional()
          .openapi({ description: 'Remote mode: where the row is on its way to PMH' }),
      }),
    ),
    nextAfter: z
      .number()
      .int()
      .nullable()
      .openapi({ description: 'Pass as `after` for the next page; null on the last page' }),
  })
  .openapi('LinkageFile');

/** See {@link linkageFileViewSchema}. */
export type LinkageFileView = z.infer<typeof linkageFileViewSchema>;
