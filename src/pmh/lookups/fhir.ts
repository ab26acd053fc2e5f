/**
 * The FHIR form of a lookup answer (`Accept: application/fhir+json`): a FHIR R4 `Bundle` of
 * `Coverage` resources following the JP-CLINS profile JP_Coverage_eCS_publicPayment (公費負担情報,
 * derived from JP Core JP_Coverage). Pure mapping, no I/O; the runtime imports no FHIR library.
 *
 * Modelling choices (the profile leaves them open, or forbids the obvious alternative):
 *
 * - **Bundle**: `type: 'searchset'` with `total`, because the answer is the result of a query (the
 *   entitlements of one person valid on the date of care), not a document. One entry per kept
 *   entitlement, each a Coverage with `search.mode: 'match'` and a fresh random `urn:uuid:` fullUrl
 *   (never derived from the request id: a caller reusing an X-Request-Id must not make two people's
 *   answers share a UUID). `Bundle.id` is the request id when it is a valid FHIR id, and
 *   `Bundle.identifier` always carries it, so the answer stays tied to the request that asked for
 *   it. `Bundle.meta.lastUpdated` = `now`.
 * - **No other resources**: the profile forbids `contained` (`contained ..0`), and a Patient or
 *   Organization entry would add nothing the clinic lacks, so `beneficiary` and `payor` are
 *   references without a resource behind them in the Bundle (R4 allows a Reference made of
 *   `identifier` / `display` only). JP-CLINS documents put the Patient in the same Bundle and refer
 *   to its fullUrl; a lookup answer has no Patient to send, and sending one would be more data.
 * - **beneficiary** (R4 1..1): `opts.patientReference` when the caller has one (e.g. the clinic's
 *   own `Patient/…`); otherwise `{ type: 'Patient', display: '照会対象者' }` ("the person looked
 *   up") — the least data that satisfies the cardinality and R4's rule that a Reference carries a
 *   reference, identifier or display: no name, birth date, identifier, nor 個人番号.
 * - **payor** (profile 1..1): a logical reference to the paying Organization,
 *   `{ type: 'Organization', identifier: { system: 'urn:oid:1.2.392.100495.20.3.71', value: 公費負担者番号 } }`
 *   — the identifier JP_Organization_eCS_coveragePayer gives a public payer. The payer's name is
 *   not in the answer.
 * - **subscriberId** (profile 1..1) = 公費受給者番号 as registered (not zero-padded: local programmes
 *   may use up to 30 characters). R4 `subscriberId` is a plain string, so the number is also given
 *   as `identifier` with system `urn:oid:1.2.392.100495.20.3.72` (JP Core slices `identifier` open).
 * - **period**: `start` = validFrom; `end` = the earlier of validTo and forcedExpiryDate (強制失効日
 *   is the last day the entitlement applies, as in the lookup query, which keeps an entitlement
 *   while `forcedExpiryDate >= dateOfCare`). An entitlement whose end falls before its start never
 *   applied, and the profile fixes `status` to `active`, so it is left out of the Bundle.
 * - **co-payment** (自己負担上限): the profile fixes `costToBeneficiary` to a rate
 *   (`type` coverage-copay-type `copaypct` "負担率", value a SimpleQuantity in UCUM `%`) and forbids
 *   `class`, so `rate` (a percentage, 0–100) becomes `costToBeneficiary`. The monthly cap `amount`
 *   (yen) has no place in the profile, so it is an extension ({@link MONTHLY_COPAYMENT_CAP_EXTENSION},
 *   `valueMoney` in JPY); the profile slices `extension` open, so this stays conformant.
 * - **designated institutions** (指定医療機関): one extension each
 *   ({@link DESIGNATED_MEDICAL_INSTITUTION_EXTENSION}) with `valueIdentifier` system
 *   `urn:oid:1.2.392.100495.20.3.23` (医療機関コード) and, when known, the designation's period as the
 *   identifier's `period`. Institution names are not carried.
 * - Left out (no element in the profile, and not needed to bill): certificate name and face items,
 *   income segment, 重度かつ継続, 償還払い, the cap's id / kind / definition / count, the tenant code,
 *   and the answer's date of care and asking institution. There is no 個人番号 in the input, and
 *   generated UUIDs never contain a run of 12 digits (the shape of one), so a scanner for leaked
 *   個人番号 does not trip on them.
 */
import { randomUUID } from 'node:crypto';
import type { LookupAnswer, LookupEntitlement } from './lookups.schemas.js';

/** The media type that selects the FHIR form of an answer. */
export const FHIR_MEDIA_TYPE = 'application/fhir+json';

/** Canonical URL of JP-CLINS JP_Coverage_eCS_publicPayment (公費負担情報). */
export const JP_COVERAGE_PUBLIC_PAYMENT_PROFILE =
  'http://jpfhir.jp/fhir/ePrescription/StructureDefinition/JP_Coverage_eCS_publicPayment';

/** 保険種別コード (厚生労働省電子処方箋 CDA 記述仕様 別表11); code "8" = 公費. */
export const INSURANCE_CATEGORY_SYSTEM = 'urn:oid:1.2.392.100495.20.2.61';
/** 公費負担者番号. */
export const PUBLIC_PAYER_NUMBER_SYSTEM = 'urn:oid:1.2.392.100495.20.3.71';
/** 公費受給者番号. */
export const PUBLIC_RECIPIENT_NUMBER_SYSTEM = 'urn:oid:1.2.392.100495.20.3.72';
/** 医療機関コード. */
export const MEDICAL_INSTITUTION_CODE_SYSTEM = 'urn:oid:1.2.392.100495.20.3.23';

const COPAY_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/coverage-copay-type';
const UCUM = 'http://unitsofmeasure.org';

/** This gateway's own extensions (not registered anywhere yet; a URN claims no host). */
export const MONTHLY_COPAYMENT_CAP_EXTENSION =
  'urn:pmh-gateway:fhir:StructureDefinition:monthly-copayment-cap';
export const DESIGNATED_MEDICAL_INSTITUTION_EXTENSION =
  'urn:pmh-gateway:fhir:StructureDefinition:designated-medical-institution';
/** `beneficiary.display` when the caller gives no patient reference: "the person looked up". */
export const BENEFICIARY_DISPLAY = '照会対象者';
/** System of `Bundle.identifier`, whose value is the X-Request-Id the Bundle answers. */
export const REQUEST_ID_SYSTEM = 'urn:pmh-gateway:request-id';

// ---- The FHIR R4 shapes used here (a minimal subset; the tests validate against full R4) ----

export interface FhirCoding {
  system?: string;
  code?: string;
  display?: string;
}
export interface FhirCodeableConcept {
  coding?: FhirCoding[];
  text?: string;
}
export interface FhirPeriod {
  start?: string;
  end?: string;
}
export interface FhirIdentifier {
  system?: string;
  value?: string;
  period?: FhirPeriod;
}
export interface FhirReference {
  reference?: string;
  type?: string;
  identifier?: FhirIdentifier;
  display?: string;
}
export interface FhirMoney {
  value?: number;
  currency?: string;
}
export interface FhirQuantity {
  value?: number;
  unit?: string;
  system?: string;
  code?: string;
}
export interface FhirExtension {
  url: string;
  valueMoney?: FhirMoney;
  valueIdentifier?: FhirIdentifier;
}
export interface FhirMeta {
  lastUpdated?: string;
  profile?: string[];
}

export interface FhirCoverage {
  resourceType: 'Coverage';
  meta: FhirMeta;
  extension?: FhirExtension[];
  identifier?: FhirIdentifier[];
  status: 'active';
  type: FhirCodeableConcept;
  subscriberId: string;
  beneficiary: FhirReference;
  period?: FhirPeriod;
  payor: FhirReference[];
  /** Only a rate: the profile fixes the type to `copaypct` and the value to a `%` SimpleQuantity. */
  costToBeneficiary?: Array<{ type: FhirCodeableConcept; valueQuantity: FhirQuantity }>;
}
export interface FhirBundleEntry {
  fullUrl: string;
  resource: FhirCoverage;
  search: { mode: 'match' };
}
export interface FhirBundle {
  resourceType: 'Bundle';
  id?: string;
  meta: FhirMeta;
  identifier: FhirIdentifier;
  type: 'searchset';
  total: number;
  entry?: FhirBundleEntry[];
}

// ---- Mapping ----

/** FHIR `id`: 1–64 of A–Z a–z 0–9 - . */
const FHIR_ID = /^[A-Za-z0-9.-]{1,64}$/;

/**
 * The answer as a FHIR R4 searchset Bundle of JP_Coverage_eCS_publicPayment Coverages, one per
 * entitlement that ever applied (see the module comment for every choice). `now` stamps
 * `Bundle.meta.lastUpdated`; `patientReference`, when given, is every Coverage's beneficiary.
 *
 * Dates are taken as the ISO dates / date-times the lookup read model holds.
 */
export function toCoverageBundle(
  answer: LookupAnswer,
  opts: { now: Date; patientReference?: string },
): FhirBundle {
  const now = opts.now.toISOString();
  const beneficiary: FhirReference =
    opts.patientReference !== undefined
      ? { reference: opts.patientReference, type: 'Patient' }
      : { type: 'Patient', display: BENEFICIARY_DISPLAY };
  const entry = answer.entitlements.flatMap((e): FhirBundleEntry[] => {
    const period = periodOf(e);
    if (!period) return [];
    return [
      { fullUrl: newUrn(), resource: toCoverage(e, period, beneficiary, now), search: { mode: 'match' } },
    ];
  });
  return {
    resourceType: 'Bundle',
    ...(FHIR_ID.test(answer.requestId) ? { id: answer.requestId } : {}),
    meta: { lastUpdated: now },
    identifier: { system: REQUEST_ID_SYSTEM, value: answer.requestId },
    type: 'searchset',
    total: entry.length,
    ...(entry.length > 0 ? { entry } : {}),
  };
}

function toCoverage(
  e: LookupEntitlement,
  period: FhirPeriod,
  beneficiary: FhirReference,
  now: string,
): FhirCoverage {
  const extension: FhirExtension[] = [];
  const cap = e.maxCopaymentAmount;
  if (cap?.amount !== undefined) {
    extension.push({
      url: MONTHLY_COPAYMENT_CAP_EXTENSION,
      valueMoney: { value: cap.amount, currency: 'JPY' },
    });
  }
  for (const d of e.designatedMedicalInstitutions ?? []) {
    const p: FhirPeriod = {};
    if (d.validFrom) p.start = d.validFrom;
    if (d.validTo) p.end = d.validTo;
    extension.push({
      url: DESIGNATED_MEDICAL_INSTITUTION_EXTENSION,
      valueIdentifier: {
        system: MEDICAL_INSTITUTION_CODE_SYSTEM,
        value: d.institutionCode,
        ...(p.start || p.end ? { period: p } : {}),
      },
    });
  }

  const coverage: FhirCoverage = {
    resourceType: 'Coverage',
    meta: { lastUpdated: instant(e.updatedAt, now), profile: [JP_COVERAGE_PUBLIC_PAYMENT_PROFILE] },
    ...(extension.length > 0 ? { extension } : {}),
    identifier: [{ system: PUBLIC_RECIPIENT_NUMBER_SYSTEM, value: e.medicalSubsidyRecipientNumber }],
    status: 'active',
    type: { coding: [{ system: INSURANCE_CATEGORY_SYSTEM, code: '8', display: '公費' }] },
    subscriberId: e.medicalSubsidyRecipientNumber,
    beneficiary,
    period,
    payor: [
      {
        type: 'Organization',
        identifier: { system: PUBLIC_PAYER_NUMBER_SYSTEM, value: e.medicalSubsidyInsurerNumber },
      },
    ],
  };
  if (cap?.rate !== undefined) {
    coverage.costToBeneficiary = [
      {
        type: { coding: [{ system: COPAY_TYPE_SYSTEM, code: 'copaypct', display: '負担率' }] },
        valueQuantity: { value: cap.rate, unit: '%', system: UCUM, code: '%' },
      },
    ];
  }
  return coverage;
}

/**
 * `start` = validFrom, `end` = the earlier of validTo and forcedExpiryDate; `undefined` when the
 * entitlement ends before it starts (it never applied).
 */
function periodOf(e: LookupEntitlement): FhirPeriod | undefined {
  const ends = [e.validTo, e.forcedExpiryDate].filter((d): d is string => d !== undefined && d !== '');
  const end = ends.reduce<string | undefined>(
    (min, d) => (min === undefined || day(d) < day(min) ? d : min),
    undefined,
  );
  if (end !== undefined && day(end) < day(e.validFrom)) return undefined;
  return end === undefined ? { start: e.validFrom } : { start: e.validFrom, end };
}

/** The calendar-date part, so a date and a date-time compare by day. */
const day = (isoDateOrDateTime: string) => isoDateOrDateTime.slice(0, 10);

/** A FHIR `instant` (date-time with zone) for `value`, or `fallback` (the Bundle's time) when it is not a time. */
function instant(value: string, fallback: string): string {
  const t = Date.parse(value);
  return Number.isNaN(t) ? fallback : new Date(t).toISOString();
}

/** A random `urn:uuid:`, redrawn when its last group happens to be 12 digits (a 個人番号's shape). */
function newUrn(): string {
  for (;;) {
    const uuid = randomUUID();
    if (!/\d{12}/.test(uuid)) return `urn:uuid:${uuid}`;
  }
}
