import { z } from '@hono/zod-openapi';

/** The basic five items as the hub sends them for the cross-check (突合), already normalised by the hub. */
export const numberingBasicInfoSchema = z
  .strictObject({
    name: z.string().max(100),
    nameKana: z.string().max(100),
    address: z.string().max(200),
    dateOfBirth: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
    sex: z.string().max(1),
  })
  .openapi('NumberingBasicInfo');

/** One subject to number: its 個人番号 and basic five items. */
export const numberingRequestItemSchema = z
  .strictObject({
    myNumber: z.string().regex(/^\d{12}$/),
    basicFiveInfo: numberingBasicInfoSchema,
  })
  .openapi('NumberingRequestItem');

/** `requestPmhIds` body: up to 5,000 subjects a call, answered in the same order. */
export const numberingRequestSchema = z
  .strictObject({ items: z.array(numberingRequestItemSchema).min(1).max(5000) })
  .openapi('NumberingRequest');

/** Per-field verdict of the cross-check; never the values. */
export const FIELD_VERDICTS = ['match', 'match-after-normalisation', 'mismatch', 'missing'] as const;
/** The fields the cross-check compares. */
export const CROSS_CHECK_FIELDS = ['name', 'nameKana', 'address', 'dateOfBirth', 'sex'] as const;

/** Why a cross-check failed: a field and its verdict, no value. */
export const crossCheckReasonSchema = z
  .strictObject({ field: z.enum(CROSS_CHECK_FIELDS), verdict: z.enum(FIELD_VERDICTS) })
  .openapi('CrossCheckReason');

/** The outcome of numbering one subject. */
export const NUMBERING_OUTCOMES = ['assigned', 'existing', 'cross-check-failed', 'not-found'] as const;

/**
 * One answer item (seed ㉗, A11, A13): exactly the PMH-ID and the 個人番号 as sent, with the
 * outcome; a failed cross-check adds its reasons (field + verdict, never a value). Strict: any
 * other field makes the answer invalid.
 */
export const numberingAnswerItemSchema = z
  .strictObject({
    myNumber: z.string().regex(/^\d{12}$/),
    pmhId: z
      .string()
      .regex(/^[0-9A-Z]{16}$/)
      .nullable(),
    outcome: z.enum(NUMBERING_OUTCOMES),
    reasons: z.array(crossCheckReasonSchema).max(5).optional(),
  })
  .openapi('NumberingAnswerItem');

/** `requestPmhIds` answer: one item per request item, in the same order. */
export const numberingAnswerSchema = z
  .strictObject({ items: z.array(numberingAnswerItemSchema) })
  .openapi('NumberingAnswer');

export type NumberingRequestItem = z.infer<typeof numberingRequestItemSchema>;
export type NumberingAnswerItem = z.infer<typeof numberingAnswerItemSchema>;
export type NumberingOutcome = (typeof NUMBERING_OUTCOMES)[number];
export type CrossCheckReason = z.infer<typeof crossCheckReasonSchema>;
export type FieldVerdict = (typeof FIELD_VERDICTS)[number];
export type CrossCheckField = (typeof CROSS_CHECK_FIELDS)[number];

/**
 * The numbering port: how the hub asks the insurer intermediate server for PMH-IDs. One
 * implementation calls the service in process, the other over HTTP.
 */
export interface NumberingPort {
  /**
   * Numbers a batch. The same `idempotencyKey` returns the first answer again and assigns
   * nothing twice. Throws {@link NumberingUnavailableError} when the server cannot be reached
   * or answers 5xx/timeout (retry later), {@link NumberingProtocolError} when its answer is
   * malformed (extra fields, wrong length, another person's 個人番号) — never stored.
   */
  requestPmhIds(batch: {
    idempotencyKey: string;
    items: readonly NumberingRequestItem[];
  }): Promise<NumberingAnswerItem[]>;
}

/** The server could not be reached, timed out, answered 5xx, or the circuit is open. Retryable. */
export class NumberingUnavailableError extends Error {
  override name = 'NumberingUnavailableError';
}

/** The server answered something that breaks the contract. Nothing from it may be stored. */
export class NumberingProtocolError extends Error {
  override name = 'NumberingProtocolError';
}
