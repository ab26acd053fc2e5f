import { z } from '@hono/zod-openapi';
import {
  isKatakanaName,
  isNationalProgramme,
  isValidInstitutionCode,
  isValidInsurerNumber,
  isValidMyNumber,
  isValidNationalRecipientNumber,
  normaliseKana,
  normaliseWhitespace,
  parseJapaneseDate,
} from '../japanese/index.js';
import { FIELD_CODES, type FieldCode } from '../validation/index.js';

function fail(ctx: z.core.$RefinementCtx, code: FieldCode, path: (string | number)[] = []): void {
  ctx.addIssue({ code: 'custom', message: code, params: { code }, path });
}

const digits = (n: number) => new RegExp(`^[0-9]{${n}}$`);
const TWELVE_DIGITS = digits(12);
const EIGHT_DIGITS = digits(8);
const SEVEN_DIGITS = digits(7);
const ALNUM_50 = /^[A-Za-z0-9]{1,50}$/;

/**
 * A date as ISO `YYYY-MM-DD` or 和暦 (`R7.4.1`, `令和7年4月1日`, `令和元年5月1日`, `5070401`),
 * stored as ISO. Dates outside their era's span are refused (`outside-era`).
 */
export const dateField = z
  .string()
  .transform((value, ctx) => {
    const parsed = parseJapaneseDate(value);
    if (parsed.ok) return parsed.value;
    fail(ctx, parsed.code === 'outside-era' ? FIELD_CODES.outsideEra : FIELD_CODES.invalidDate);
    return z.NEVER;
  })
  .openapi({
    type: 'string',
    example: '2025-04-01',
    description: 'ISO date or 和暦 (R7.4.1, 令和7年4月1日, 5070401)',
  });

/** 個人番号: 12 digits with a check digit. Never echoed in an error. */
export const myNumberField = z
  .string()
  .superRefine((v, ctx) => {
    if (!TWELVE_DIGITS.test(v)) fail(ctx, FIELD_CODES.invalidFormat);
    else if (!isValidMyNumber(v)) fail(ctx, FIELD_CODES.myNumberCheckDigit);
  })
  .openapi({ description: '個人番号 (12 digits, check digit)', example: '123456789018' });

/** 氏名カナ: normalised (full-width katakana, single spaces) before it is checked and stored. */
const kanaField = z
  .string()
  .max(100)
  .transform((v, ctx) => {
    const k = normaliseKana(v);
    if (!isKatakanaName(k)) {
      fail(ctx, FIELD_CODES.invalidKana);
      return z.NEVER;
    }
    return k;
  })
  .openapi({ type: 'string', example: 'トウキョウ ハナコ' });

const textField = (max: number) =>
  z
    .string()
    .max(max)
    .transform((v) => normaliseWhitespace(v))
    .pipe(z.string().min(1));

/** 性別 code, ISO/IEC 5218 as used by 住基: 1 male, 2 female, 0 unknown, 9 not applicable. */
export const SEX_CODES = ['0', '1', '2', '9'] as const;

/** 基本5情報 (PMH `basicFiveInfo`). */
export const basicFiveInfoSchema = z
  .strictObject({
    name: textField(100),
    nameKana: kanaField,
    address: textField(200),
    dateOfBirth: dateField,
    sex: z.enum(SEX_CODES),
  })
  .openapi('BasicFiveInfo');

/** 指定医療機関 (PMH `designatedMedicalInstitutions[]`). */
export const designatedInstitutionSchema = z
  .strictObject({
    institutionCode: z.string().superRefine((v, ctx) => {
      if (!digits(10).test(v)) fail(ctx, FIELD_CODES.invalidFormat);
      else if (!isValidInstitutionCode(v)) fail(ctx, FIELD_CODES.institutionCodeCheckDigit);
    }),
    institutionName: z.string().max(200).optional(),
    validFrom: dateField.optional(),
    validTo: dateField.optional(),
  })
  .openapi('DesignatedMedicalInstitution');

/** 券面情報 (PMH `certificationDetail[]`): what the paper certificate shows, in display order. */
export const certificationDetailSchema = z
  .strictObject({
    displayOrder: z.number().int().min(0).max(9999),
    itemName: z.string().min(1).max(100),
    itemValue: z.string().max(1000),
  })
  .openapi('CertificationDetail');

/** 自己負担上限額 (PMH `maxCopaymentAmount`). */
export const maxCopaymentAmountSchema = z
  .strictObject({
    capId: z.string().max(50).optional(),
    capKind: z.string().max(50).optional(),
    definition: z.string().max(200).optional(),
    rate: z.number().min(0).max(100).optional(),
    amount: z.number().int().min(0).max(100_000_000).optional(),
    count: z.number().int().min(0).max(1000).optional(),
  })
  .openapi('MaxCopaymentAmount');

const zeroOne = z.enum(['0', '1']);

const entitlementFields = {
  orgSpecificCertificateTypeId: z.string().regex(ALNUM_50),
  certificationSubKey: z.string().max(50).optional(),
  certificationName: z.string().min(1).max(100),
  certificateId: z.string().max(50).optional(),
  segment: z.string().max(50).optional(),
  publicExpenseId: z.string().max(50).optional(),
  medicalSubsidyInsurerNumber: z.string().superRefine((v, ctx) => {
    if (!EIGHT_DIGITS.test(v)) fail(ctx, FIELD_CODES.invalidFormat);
    else if (!isValidInsurerNumber(v)) fail(ctx, FIELD_CODES.insurerNumberCheckDigit);
  }),
  medicalSubsidyRecipientNumber: z.string().min(1).max(30),
  isNotDisclosed: z.boolean().optional(),
  isAlwaysReimbursement: zeroOne.optional(),
  incomeSegment: z.string().max(50).optional(),
  severeAndContinuing: z.boolean().optional(),
  additionalConditions: z.string().max(500).optional(),
  maxCopaymentAmount: maxCopaymentAmountSchema.optional(),
  designatedMedicalInstitutions: z.array(designatedInstitutionSchema).max(100).optional(),
  validFrom: dateField,
  validTo: dateField.optional(),
  forcedExpiryDate: dateField.optional(),
  historyKey: z.string().max(100).optional(),
  isDeleted: z.boolean().optional(),
  certificationDetail: z.array(certificationDetailSchema).max(200).optional(),
};

/**
 * The cross-field rules of an entitlement: the 公費負担者番号 check digit, the 公費受給者番号
 * check digit for national programmes, and validFrom ≤ validTo.
 */
export function checkNumbersAndDates(
  r: {
    medicalSubsidyInsurerNumber: string;
    medicalSubsidyRecipientNumber: string;
    validFrom: string;
    validTo?: string | undefined;
  },
  ctx: z.core.$RefinementCtx,
): void {
  const insurer = r.medicalSubsidyInsurerNumber;
  if (EIGHT_DIGITS.test(insurer) && isValidInsurerNumber(insurer) && isNationalProgramme(insurer)) {
    const recipient = r.medicalSubsidyRecipientNumber;
    if (!SEVEN_DIGITS.test(recipient))
      fail(ctx, FIELD_CODES.invalidFormat, ['medicalSubsidyRecipientNumber']);
    else if (!isValidNationalRecipientNumber(recipient)) {
      fail(ctx, FIELD_CODES.recipientNumberCheckDigit, ['medicalSubsidyRecipientNumber']);
    }
  }
  if (r.validTo !== undefined && r.validFrom > r.validTo) {
    fail(ctx, FIELD_CODES.validFromAfterValidTo, ['validTo']);
  }
}

/**
 * One registration record in the shape of the public PMH municipality API
 * (`postRegistrationTasks`, DOMAIN.md): `modificationSeg` "1" registers or updates the
 * entitlement keyed by (tenant, 個人番号, `orgSpecificCertificateTypeId`,
 * `certificationSubKey`); "2" deletes it.
 */
export const registrationRecordSchema = z
  .discriminatedUnion('modificationSeg', [
    z
      .strictObject({
        modificationSeg: z.literal('1'),
        myNumber: myNumberField,
        municipalityIdentityKey: z.string().max(100).optional(),
        basicFiveInfo: basicFiveInfoSchema,
        ...entitlementFields,
      })
      .superRefine(checkNumbersAndDates),
    z.strictObject({
      modificationSeg: z.literal('2'),
      myNumber: myNumberField,
      municipalityIdentityKey: z.string().max(100).optional(),
      orgSpecificCertificateTypeId: z.string().regex(ALNUM_50),
      certificationSubKey: z.string().max(50).optional(),
    }),
  ])
  .openapi('RegistrationRecord');

/** A record as the client sends it. */
export type RegistrationRecordInput = z.input<typeof registrationRecordSchema>;
/** A validated, normalised record. */
export type RegistrationRecord = z.output<typeof registrationRecordSchema>;
/** A validated register-or-update record. */
export type UpsertRecord = Extract<RegistrationRecord, { modificationSeg: '1' }>;

/** A JSON batch: 1 to 10,000 records. */
export const registrationBatchSchema = z.array(registrationRecordSchema).min(1).max(10_000);

/** What happened to one record. */
export const RECORD_OUTCOMES = ['created', 'updated', 'unchanged', 'deleted', 'not-found'] as const;
/** One of {@link RECORD_OUTCOMES}. */
export type RecordOutcome = (typeof RECORD_OUTCOMES)[number];

/** The answer for one record, by its index in the batch. */
export const recordResultSchema = z
  .object({
    index: z.number().int(),
    subjectId: z.uuid().nullable(),
    outcome: z.enum(RECORD_OUTCOMES),
  })
  .openapi('RecordResult');
/** See {@link recordResultSchema}. */
export type RecordResult = z.infer<typeof recordResultSchema>;
