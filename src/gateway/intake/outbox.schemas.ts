import { z } from '@hono/zod-openapi';
import { DELIVERY_STATES } from './outbox.tables.js';

const fieldErrorView = z.object({ pointer: z.string(), code: z.string() });

/** Counts of records by delivery state. */
export const deliveryCountsSchema = z
  .object({
    queued: z.number().int(),
    sent: z.number().int(),
    accepted: z.number().int(),
    rejected: z.number().int(),
    givenUp: z.number().int(),
  })
  .openapi('DeliveryCounts');
/** See {@link deliveryCountsSchema}. */
export type DeliveryCounts = z.infer<typeof deliveryCountsSchema>;

/** Where one record is on its way to the remote PMH, and what PMH answered for it. */
export const deliveryViewSchema = z
  .object({
    state: z.enum(DELIVERY_STATES).openapi({
      description:
        'queued: stored, not yet sent; sent: handed to PMH, awaiting its answer or a retry; accepted / rejected: PMH answered; given-up: retries exhausted (see docs/REMOTE-PMH.md)',
    }),
    attempts: z.number().int(),
    outcome: z.string().nullable().openapi({ description: "PMH's outcome once accepted" }),
    subjectId: z.uuid().nullable(),
    errors: z.array(fieldErrorView).optional().openapi({ description: "PMH's reasons (codes only)" }),
    updatedAt: z.string(),
  })
  .openapi('Delivery');
/** See {@link deliveryViewSchema}. */
export type DeliveryView = z.infer<typeof deliveryViewSchema>;

/** The answer to a registration accepted for delivery to a remote PMH. */
export const submissionAcceptedSchema = z
  .object({
    submissionId: z.uuid(),
    recordCount: z.number().int(),
    state: z.literal('queued'),
  })
  .openapi('SubmissionAccepted');

/** A registration's delivery to the remote PMH, record by record. */
export const submissionViewSchema = z
  .object({
    submissionId: z.uuid(),
    receivedAt: z.string(),
    recordCount: z.number().int(),
    counts: deliveryCountsSchema,
    records: z.array(deliveryViewSchema.extend({ index: z.number().int() })),
  })
  .openapi('Submission');
/** See {@link submissionViewSchema}. */
export type SubmissionView = z.infer<typeof submissionViewSchema>;

/** What operators see of the outbox (status page, metrics). */
export const outboxStatusSchema = z
  .object({
    depth: z.number().int().openapi({ description: 'Records queued or sent, not yet answered' }),
    oldestAgeSeconds: z.number().nullable(),
    counts: deliveryCountsSchema,
    failures: z.record(z.string(), z.number().int()).openapi({ description: 'Failed attempts by class' }),
    circuit: z.enum(['closed', 'open', 'half-open']),
    alert: z.boolean(),
    alerts: z.array(z.string()),
  })
  .openapi('OutboxStatus');
/** See {@link outboxStatusSchema}. */
export type OutboxStatus = z.infer<typeof outboxStatusSchema>;
