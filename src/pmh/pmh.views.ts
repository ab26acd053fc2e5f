import { z } from '@hono/zod-openapi';
import {
  basicFiveInfoSchema,
  certificationDetailSchema,
  dateField,
  designatedInstitutionSchema,
  maxCopaymentAmountSchema,
} from './pmh.schemas.js';
import { NUMBERING_STATUSES } from './pmh.tables.js';

/** How a 個人番号 is shown to a caller without the `my-number:view` scope. */
export const MASKED_MY_NUMBER = '************';

const basicFiveInfoView = z
  .object({
    name: z.string(),
    nameKana: z.string(),
    address: z.string(),
    dateOfBirth: z.string(),
    sex: z.string(),
  })
  .openapi('BasicFiveInfoView');

/** One entitlement as the hub answers it. */
export const entitlementViewSchema = z
  .object({
    entitlementId: z.uuid(),
    orgSpecificCertificateTypeId: z.string(),
    certificationSubKey: z.string(),
    certificationName: z.string(),
    certificateId: z.string().optional(),
    segment: z.string().optional(),
    publicExpenseId: z.string().optional(),
    medicalSubsidyInsurerNumber: z.string(),
    medicalSubsidyRecipientNumber: z.string(),
    isAlwaysReimbursement: z.enum(['0', '1']).optional(),
    incomeSegment: z.string().optional(),
    severeAndContinuing: z.boolean().optional(),
    additionalConditions: z.string().optional(),
    maxCopaymentAmount: z.object(maxCopaymentAmountSchema.shape).optional(),
    designatedMedicalInstitutions: z
      .array(
        z.object({
          ...designatedInstitutionSchema.shape,
          institutionCode: z.string(),
          validFrom: z.string().optional(),
          validTo: z.string().optional(),
        }),
      )
      .optional(),
    validFrom: z.string(),
    validTo: z.string().optional(),
    forcedExpiryDate: z.string().optional(),
    historyKey: z.string().optional(),
    isDeleted: z.boolean().optional(),
    certificationDetail: z.array(z.object(certificationDetailSchema.shape)).optional(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Entitlement');

/** Where the subject is in PMH-ID numbering, with the cross-check's reasons when it failed. */
export const numberingViewSchema = z
  .object({
    status: z.enum(NUMBERING_STATUSES),
    reasons: z
      .array(z.object({ field: z.string(), verdict: z.string() }))
      .optional()
      .openapi({ description: 'Fields whose cross-check verdict failed the check (never values)' }),
    numberedAt: z.string().optional(),
  })
  .openapi('Numbering');
/** See {@link numberingViewSchema}. */
export type NumberingView = z.infer<typeof numberingViewSchema>;

/** A subject with its entitlements; `myNumber` is masked unless the caller may see it. */
export const subjectViewSchema = z
  .object({
    subjectId: z.uuid(),
    municipalityCode: z.string(),
    businessId: z.string(),
    myNumber: z
      .string()
      .openapi({ description: `Twelve asterisks (${MASKED_MY_NUMBER}) without scope my-number:view` }),
    municipalityIdentityKey: z.string().optional(),
    basicFiveInfo: basicFiveInfoView,
    pmhId: z.string().nullable(),
    numbering: numberingViewSchema,
    isNotDisclosed: z.boolean(),
    viewingSuspended: z.boolean(),
    createdAt: z.string(),
    updatedAt: z.string(),
    entitlements: z.array(entitlementViewSchema),
  })
  .openapi('Subject');

/** See {@link subjectViewSchema}. */
export type SubjectView = z.infer<typeof subjectViewSchema>;
/** See {@link entitlementViewSchema}. */
export type EntitlementView = z.infer<typeof entitlementViewSchema>;

/** A partial change to an entitlement; the key fields cannot change. */
export const entitlementPatchSchema = z
  .strictObject({
    certificationName: z.string().min(1).max(100),
    certificateId: z.string().max(50),
    segment: z.string().max(50),
    medicalSubsidyRecipientNumber: z.string().min(1).max(30),
    isAlwaysReimbursement: z.enum(['0', '1']),
    incomeSegment: z.string().max(50),
    severeAndContinuing: z.boolean(),
    additionalConditions: z.string().max(500),
    maxCopaymentAmount: maxCopaymentAmountSchema,
    designatedMedicalInstitutions: z.array(designatedInstitutionSchema).max(100),
    validFrom: dateField,
    validTo: dateField,
    certificationDetail: z.array(certificationDetailSchema).max(200),
  })
  .partial()
  .refine((p) => Object.keys(p).length > 0, { message: 'empty patch', params: { code: 'required' } })
  .openapi('EntitlementPatch');
/** See {@link entitlementPatchSchema}. */
export type EntitlementPatch = z.output<typeof entitlementPatchSchema>;

/** 制御フラグ: 不開示 and 閲覧停止. */
export const controlFlagsSchema = z
  .strictObject({ isNotDisclosed: z.boolean().optional(), viewingSuspended: z.boolean().optional() })
  .refine((f) => f.isNotDisclosed !== undefined || f.viewingSuspended !== undefined, {
    message: 'no flag given',
    params: { code: 'required' },
  })
  .openapi('ControlFlags');
/** See {@link controlFlagsSchema}. */
export type ControlFlags = z.output<typeof controlFlagsSchema>;

/** The most entries {@link accessHistorySchema} lists at once (newest first). */
export const ACCESS_HISTORY_LIMIT = 10_000;

/** One access to a subject's data: who, when, what; never a value. */
export const accessEntrySchema = z
  .object({
    at: z.string().openapi({ example: '2026-11-30T09:00:00.000Z' }),
    chain: z.enum(['municipality', 'lookups']).openapi({
      description: "municipality: the tenant's own log; lookups: clinics and the My Number Portal",
    }),
    actorKind: z.string().openapi({ example: 'client' }),
    actorId: z.string(),
    action: z.string().openapi({ example: 'subject.viewed' }),
    requestId: z.string().nullable(),
  })
  .openapi('AccessEntry');

/** A subject's access history (for a disclosure request, seed A50), newest first. */
export const accessHistorySchema = z
  .object({
    subjectId: z.string(),
    entries: z.array(accessEntrySchema),
    truncated: z
      .boolean()
      .openapi({ description: `true when there were more than ${ACCESS_HISTORY_LIMIT} entries` }),
  })
  .openapi('AccessHistory');
/** See {@link accessHistorySchema}. */
export type AccessHistory = z.infer<typeof accessHistorySchema>;
/** See {@link accessEntrySchema}. */
export type AccessEntry = z.infer<typeof accessEntrySchema>;

export { basicFiveInfoSchema };
