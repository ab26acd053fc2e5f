import { z } from 'zod';
import {
  isIsoDate,
  isValidInstitutionCode,
  isValidInsurerNumber,
  isValidMyNumber,
} from '../../japanese/index.js';

/*
 * The remote PMH's API as we expect it, written from the PMH field names of GLOSSARY.md and
 * kept apart from our own schemas on purpose: a change on our side must not silently change
 * what we send to (or accept from) another system.
 */

const isoDate = z.string().refine(isIsoDate, { message: 'not an ISO date' });
const myNumber = z.string().refine((v) => /^[0-9]{12}$/.test(v) && isValidMyNumber(v), {
  message: 'not a 個人番号',
});
const text = (max: number) => z.string().min(1).max(max);
const opt = <T extends z.ZodType>(schema: T) => schema.exactOptional();

/** 基本5情報 as the remote reads it. */
const publicBasicFiveInfoSchema = z.strictObject({
  name: text(100),
  nameKana: text(100),
  address: text(200),
  dateOfBirth: isoDate,
  sex: z.enum(['0', '1', '2', '9']),
});

/** 自己負担上限額; the subfield names are ours (GLOSSARY). */
const publicMaxCopaymentAmountSchema = z.strictObject({
  capId: opt(z.string().max(50)),
  capKind: opt(z.string().max(50)),
  definition: opt(z.string().max(200)),
  rate: opt(z.number().min(0).max(100)),
  amount: opt(z.number().int().min(0).max(100_000_000)),
  count: opt(z.number().int().min(0).max(1000)),
});

/** 指定医療機関: a 10-digit 医療機関コード with its Luhn check digit. */
const publicDesignatedInstitutionSchema = z.strictObject({
  institutionCode: z.string().refine((v) => /^[0-9]{10}$/.test(v) && isValidInstitutionCode(v), {
    message: 'not an institution code',
  }),
  institutionName: opt(z.string().max(200)),
  validFrom: opt(isoDate),
  validTo: opt(isoDate),
});

/** 券面情報: one line of the paper certificate. */
const publicCertificationDetailSchema = z.strictObject({
  displayOrder: z.number().int().min(0).max(9999),
  itemName: text(100),
  itemValue: z.string().max(1000),
});

const publicKeyFields = {
  myNumber,
  municipalityIdentityKey: opt(z.string().max(100)),
  orgSpecificCertificateTypeId: z.string().regex(/^[A-Za-z0-9]{1,50}$/),
  certificationSubKey: opt(z.string().max(50)),
};

/**
 * One record of `POST {base}/registration-tasks` exactly as the remote PMH takes it
 * (医療費助成対象者情報登録API, operation `postRegistrationTasks`): `modificationSeg` "1"
 * registers or updates, "2" deletes. Strict: no unknown key, an optional field is absent
 * rather than `undefined` or `null`.
 *
 * @example
 * publicRegistrationRecordSchema.safeParse(toPublicRecord(record)).success; // true
 */
export const publicRegistrationRecordSchema = z.discriminatedUnion('modificationSeg', [
  z.strictObject({
    modificationSeg: z.literal('1'),
    ...publicKeyFields,
    basicFiveInfo: publicBasicFiveInfoSchema,
    certificationName: text(100),
    certificateId: opt(z.string().max(50)),
    segment: opt(z.string().max(50)),
    publicExpenseId: opt(z.string().max(50)),
    medicalSubsidyInsurerNumber: z.string().refine((v) => /^[0-9]{8}$/.test(v) && isValidInsurerNumber(v), {
      message: 'not an insurer number',
    }),
    medicalSubsidyRecipientNumber: text(30),
    isNotDisclosed: opt(z.boolean()),
    isAlwaysReimbursement: opt(z.enum(['0', '1'])),
    incomeSegment: opt(z.string().max(50)),
    severeAndContinuing: opt(z.boolean()),
    additionalConditions: opt(z.string().max(500)),
    maxCopaymentAmount: opt(publicMaxCopaymentAmountSchema),
    designatedMedicalInstitutions: opt(z.array(publicDesignatedInstitutionSchema).max(100)),
    validFrom: isoDate,
    validTo: opt(isoDate),
    forcedExpiryDate: opt(isoDate),
    historyKey: opt(z.string().max(100)),
    isDeleted: opt(z.boolean()),
    certificationDetail: opt(z.array(publicCertificationDetailSchema).max(200)),
  }),
  z.strictObject({
    modificationSeg: z.literal('2'),
    ...publicKeyFields,
  }),
]);
/** See {@link publicRegistrationRecordSchema}. */
export type PublicRegistrationRecord = z.infer<typeof publicRegistrationRecordSchema>;

/** What the remote PMH says happened to one record (ours plus `rejected`). */
export const REMOTE_RECORD_OUTCOMES = [
  'created',
  'updated',
  'unchanged',
  'deleted',
  'not-found',
  'rejected',
] as const;
/** One of {@link REMOTE_RECORD_OUTCOMES}. */
export type RemoteRecordOutcome = (typeof REMOTE_RECORD_OUTCOMES)[number];

/**
 * The 2xx answer of `POST {base}/registration-tasks`: one result per record, in order.
 * Strict at every level: an answer with a field we do not know is refused as a whole.
 *
 * @example
 * registrationTasksAnswerSchema.parse({ results: [{ index: 0, subjectId: null, outcome: 'not-found' }] });
 */
export const registrationTasksAnswerSchema = z.strictObject({
  results: z.array(
    z.strictObject({
      index: z.number().int().min(0),
      subjectId: z.uuid().nullable(),
      outcome: z.enum(REMOTE_RECORD_OUTCOMES),
      errors: z.array(z.strictObject({ pointer: z.string(), code: z.string() })).optional(),
    }),
  ),
});
/** See {@link registrationTasksAnswerSchema}. */
export type RegistrationTasksAnswer = z.infer<typeof registrationTasksAnswerSchema>;

/**
 * The parts of a remote problem+json (RFC 9457) we read: its `code` and its per-field
 * `errors`. Loose: other members are ignored.
 *
 * @example
 * remoteProblemSchema.parse({ type: '/problems/validation-failed', code: 'validation-failed', errors: [] });
 */
export const remoteProblemSchema = z.looseObject({
  code: z.string().optional(),
  errors: z
    .array(
      z.looseObject({
        index: z.number().int().min(0).optional(),
        pointer: z.string(),
        code: z.string(),
      }),
    )
    .optional(),
});
/** See {@link remoteProblemSchema}. */
export type RemoteProblem = z.infer<typeof remoteProblemSchema>;

/** How the remote shows a 個人番号 to a caller without the right to see it: twelve asterisks. */
export const REMOTE_MASKED_MY_NUMBER = '************';

const remoteEntitlementSchema = z.strictObject({
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
  maxCopaymentAmount: z
    .strictObject({
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
      z.strictObject({
        institutionCode: z.string(),
        institutionName: z.string().optional(),
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
  certificationDetail: z
    .array(z.strictObject({ displayOrder: z.number().int(), itemName: z.string(), itemValue: z.string() }))
    .optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

/**
 * The answer of `GET {base}/subjects/{subjectId}`: a subject with its entitlements. Strict at
 * every level, so no field we do not expect can carry a 個人番号; `myNumber` itself is either
 * {@link REMOTE_MASKED_MY_NUMBER} or a valid 12-digit 個人番号 (when our client may see it).
 *
 * @example
 * const parsed = remoteSubjectSchema.safeParse(json);
 * if (!parsed.success) return { kind: 'unavailable', reason: 'malformed answer' };
 */
export const remoteSubjectSchema = z.strictObject({
  subjectId: z.uuid(),
  municipalityCode: z.string(),
  businessId: z.string(),
  myNumber: z.union([z.literal(REMOTE_MASKED_MY_NUMBER), myNumber]),
  municipalityIdentityKey: z.string().optional(),
  basicFiveInfo: z.strictObject({
    name: z.string(),
    nameKana: z.string(),
    address: z.string(),
    dateOfBirth: z.string(),
    sex: z.string(),
  }),
  pmhId: z.string().nullable(),
  numbering: z.strictObject({
    status: z.enum(['pending', 'retrying', 'numbered', 'cross-check-failed', 'not-found', 'given-up']),
    reasons: z.array(z.strictObject({ field: z.string(), verdict: z.string() })).optional(),
    numberedAt: z.string().optional(),
  }),
  isNotDisclosed: z.boolean(),
  viewingSuspended: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
  entitlements: z.array(remoteEntitlementSchema),
});
/** See {@link remoteSubjectSchema}. */
export type RemoteSubject = z.infer<typeof remoteSubjectSchema>;
