import { z } from '@hono/zod-openapi';

/**
 * One entitlement as a clinic or the portal sees it (seed ㉘ ㉙): what the certificate says
 * and whether it applies — never a 個人番号, never another person's data.
 */
export const lookupEntitlementSchema = z
  .object({
    municipalityCode: z.string().openapi({ description: 'The tenant (自治体コード) that registered it' }),
    orgSpecificCertificateTypeId: z.string(),
    certificationName: z.string(),
    medicalSubsidyInsurerNumber: z.string().openapi({ description: '公費負担者番号' }),
    medicalSubsidyRecipientNumber: z.string().openapi({ description: '公費受給者番号' }),
    validFrom: z.string(),
    validTo: z.string().optional(),
    forcedExpiryDate: z.string().optional(),
    incomeSegment: z.string().optional(),
    severeAndContinuing: z.boolean().optional(),
    isAlwaysReimbursement: z.enum(['0', '1']).optional(),
    maxCopaymentAmount: z
      .object({
        capId: z.string().optional(),
        capKind: z.string().optional(),
        definition: z.string().optional(),
        rate: z.number().optional(),
        amount: z.number().optional(),
        count: z.number().optional(),
      })
      .optional(),
    designatedMedicalInstitutions: z
      .array(
        z.object({
          institutionCode: z.string(),
          institutionName: z.string().optional(),
          validFrom: z.string().optional(),
          validTo: z.string().optional(),
        }),
      )
      .optional(),
    /** Whether the asking institution is one of the designated ones (clinic lookups only). */
    isDesignatedInstitution: z.boolean().optional(),
    certificationDetail: z
      .array(z.object({ displayOrder: z.number(), itemName: z.string(), itemValue: z.string() }))
      .optional(),
    updatedAt: z.string(),
  })
  .openapi('LookupEntitlement');

/** The answer to a clinic or portal lookup, tied to the request that asked. */
export const lookupAnswerSchema = z
  .object({
    requestId: z.string().openapi({ description: 'The X-Request-Id of the request this answers' }),
    dateOfCare: z.string(),
    institutionCode: z.string().optional(),
    entitlements: z.array(lookupEntitlementSchema),
  })
  .openapi('LookupAnswer');

/** See {@link lookupEntitlementSchema}. */
export type LookupEntitlement = z.infer<typeof lookupEntitlementSchema>;
/** See {@link lookupAnswerSchema}. */
export type LookupAnswer = z.infer<typeof lookupAnswerSchema>;
