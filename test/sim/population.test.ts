import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { formatCsvRow } from '../../src/gateway/intake/csv.js';
import { checkHeader, LINKAGE_COLUMNS, rowToRecord } from '../../src/gateway/intake/linkage-columns.js';
import { isValidMyNumber, parseJapaneseDate } from '../../src/japanese/index.js';
import { type RegistrationRecordInput, registrationRecordSchema } from '../../src/pmh/pmh.schemas.js';
import {
  CORRUPTION_KINDS,
  corruptRecord,
  createRandom,
  DEFAULT_REFERENCE_DATE,
  FAMILY_NAMES,
  FEMALE_GIVEN_NAMES,
  fiscalYearOf,
  generatePerson,
  MALE_GIVEN_NAMES,
  monthlyCap,
  population,
  registrationRecords,
  TOKYO_WARDS,
  toCsvHeader,
  toCsvRow,
  toRegistrationRecord,
} from '../../src/sim/population/index.js';
import { BUILDING_NAMES, CLINIC_NAMES } from '../../src/sim/population/names.js';

function upsert(record: RegistrationRecordInput) {
  if (record.modificationSeg !== '1') throw new Error('expected an upsert record');
  return record;
}

function codesOf(record: RegistrationRecordInput): string[] {
  const result = registrationRecordSchema.safeParse(record);
  if (result.success) return [];
  return result.error.issues.map((issue) =>
    issue.code === 'custom' ? String((issue.params as { code?: string } | undefined)?.code) : issue.code,
  );
}

describe('createRandom', () => {
  it('gives the same sequence for the same seed and a different one for another seed', () => {
    const draw = (seed: number | string) => {
      const rng = createRandom(seed);
      return Array.from({ length: 20 }, () => rng.next());
    };
    expect(draw('abc')).toEqual(draw('abc'));
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
  });

  it('keeps int within its inclusive bounds and reaches both ends', () => {
    const rng = createRandom(1);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) seen.add(rng.int(3, 6));
    expect([...seen].sort()).toEqual([3, 4, 5, 6]);
  });

  it('forks independently of how many numbers were drawn before', () => {
    const a = createRandom(1);
    const b = createRandom(1);
    for (let i = 0; i < 10; i++) b.next();
    expect(a.fork(42).next()).toBe(b.fork(42).next());
    expect(a.fork(42).next()).not.toBe(a.fork(43).next());
  });
});

describe('population', () => {
  it('generates the same people for the same seed', () => {
    expect([...population({ seed: 'tokyo', size: 50 })]).toEqual([
      ...population({ seed: 'tokyo', size: 50 }),
    ]);
  });

  it('generates different people for different seeds', () => {
    const a = [...population({ seed: 1, size: 5 })];
    const b = [...population({ seed: 2, size: 5 })];
    expect(a.map((p) => p.myNumber)).not.toEqual(b.map((p) => p.myNumber));
  });

  it('gives person i the same attributes whatever the offset and size', () => {
    const whole = [...population({ seed: 9, size: 300 })];
    const slice = [...population({ seed: 9, size: 20, offset: 250 })];
    expect(slice).toEqual(whole.slice(250, 270));
    expect(generatePerson(createRandom(9).fork(123), 123)).toEqual(whole[123]);
  });

  it('gives valid, unique 個人番号 across 100,000 people', () => {
    const seen = new Set<string>();
    for (const person of population({ seed: 1, size: 100_000 })) {
      if (!isValidMyNumber(person.myNumber)) throw new Error(`invalid ${person.myNumber}`);
      seen.add(person.myNumber);
    }
    expect(seen.size).toBe(100_000);
  });

  it('writes names as kanji and katakana with one ASCII space, and Tokyo ward addresses', () => {
    for (const p of population({ seed: 3, size: 500 })) {
      expect(p.name).toMatch(/^\S+ \S+$/);
      expect(p.nameKana).toMatch(/^[\u30a1-\u30fe]+ [\u30a1-\u30fe]+$/);
      expect(p.address).toMatch(
        /^東京都\S+区\S+?([0-9]+|[一二三四五六])丁目[0-9]+番[0-9]+号( \S+[0-9]+号室)?$/,
      );
      expect(p.dateOfBirth >= '1930-01-01' && p.dateOfBirth <= '2020-12-31').toBe(true);
      expect(['1', '2']).toContain(p.sex);
    }
  });

  it('uses only text that CP932 can represent', () => {
    const texts = [
      ...[...FAMILY_NAMES, ...MALE_GIVEN_NAMES, ...FEMALE_GIVEN_NAMES].flat(),
      ...TOKYO_WARDS.flatMap((w) => [w.name, ...w.towns]),
      ...BUILDING_NAMES,
      ...CLINIC_NAMES,
      '自立支援医療受給者証（精神通院）丁目番号号室東京都一二三四五六七八九該当非該当受給者番号氏名指定医療機関所得区分重度かつ継続',
    ];
    for (const text of texts) expect(iconv.decode(iconv.encode(text, 'cp932'), 'cp932')).toBe(text);
  });

  it('embeds 23 wards and about 60 names per list', () => {
    expect(TOKYO_WARDS).toHaveLength(23);
    expect(FAMILY_NAMES.length).toBeGreaterThanOrEqual(60);
    expect(MALE_GIVEN_NAMES.length).toBeGreaterThanOrEqual(60);
    expect(FEMALE_GIVEN_NAMES.length).toBeGreaterThanOrEqual(60);
  });
});

describe('toRegistrationRecord', () => {
  it('builds 10,000 records that all pass the registration schema', () => {
    let failures = 0;
    for (const { record } of registrationRecords({ seed: 1, size: 10_000 })) {
      if (!registrationRecordSchema.safeParse(record).success) failures++;
    }
    expect(failures).toBe(0);
  });

  it('builds valid records with 和暦 dates in several styles', () => {
    const styles = new Set<string>();
    for (const { record, person } of registrationRecords({ seed: 5, size: 2000, eraDates: true })) {
      const r = upsert(record);
      expect(registrationRecordSchema.safeParse(r).success).toBe(true);
      expect(r.validFrom).not.toMatch(/^\d{4}-/);
      expect(parseJapaneseDate(r.basicFiveInfo.dateOfBirth)).toEqual({ ok: true, value: person.dateOfBirth });
      styles.add(/^[MTSHR]/.test(r.validFrom) ? 'letter' : /^\d/.test(r.validFrom) ? 'code' : 'kanji');
    }
    expect(styles).toEqual(new Set(['letter', 'kanji', 'code']));
  });

  it('renews entitlements by moving only validTo a year on per renewal, and the renewed records stay valid', () => {
    const first = [...registrationRecords({ seed: 8, size: 300 })];
    const renewed = [...registrationRecords({ seed: 8, size: 300, renewals: 2 })];
    renewed.forEach(({ record }, i) => {
      const before = upsert(first[i]?.record as RegistrationRecordInput);
      const after = upsert(record);
      expect(registrationRecordSchema.safeParse(after).success).toBe(true);
      // Both end the day before the month they began in, two years apart (leap days included).
      const dayAfter = (iso: string | undefined) =>
        new Date(Date.parse(`${iso}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
      const end = dayAfter(before.validTo);
      expect(dayAfter(after.validTo)).toBe(`${Number(end.slice(0, 4)) + 2}${end.slice(4)}`);
      expect({ ...after, validTo: before.validTo }).toEqual(before);
    });
  });

  it('moves people by giving each a new address, all else the same', () => {
    const first = [...registrationRecords({ seed: 8, size: 300 })];
    const moved = [...registrationRecords({ seed: 8, size: 300, moves: 1 })];
    let differ = 0;
    moved.forEach(({ record }, i) => {
      const before = upsert(first[i]?.record as RegistrationRecordInput);
      const after = upsert(record);
      expect(registrationRecordSchema.safeParse(after).success).toBe(true);
      expect(after.basicFiveInfo.address).toMatch(/^東京都/);
      if (after.basicFiveInfo.address !== before.basicFiveInfo.address) differ += 1;
      expect({ ...after, basicFiveInfo: { ...after.basicFiveInfo, address: '' } }).toEqual({
        ...before,
        basicFiveInfo: { ...before.basicFiveInfo, address: '' },
      });
    });
    expect(differ).toBeGreaterThan(290);
  });

  it('withdraws entitlements with records of the 個人番号 and the certificate key only', () => {
    const first = [...registrationRecords({ seed: 8, size: 50 })];
    [...registrationRecords({ seed: 8, size: 50, withdrawn: true })].forEach(({ record }, i) => {
      const before = upsert(first[i]?.record as RegistrationRecordInput);
      expect(record).toEqual({
        modificationSeg: '2',
        myNumber: before.myNumber,
        orgSpecificCertificateTypeId: before.orgSpecificCertificateTypeId,
      });
      expect(registrationRecordSchema.safeParse(record).success).toBe(true);
    });
  });

  it('follows the co-payment cap table and the programme identifiers', () => {
    for (const { record, person } of registrationRecords({ seed: 11, size: 3000 })) {
      const r = upsert(record);
      expect(r.orgSpecificCertificateTypeId).toBe('JIRITSUSEISHIN');
      expect(r.certificationName).toBe('自立支援医療受給者証（精神通院）');
      expect(r.medicalSubsidyInsurerNumber).toMatch(/^2113\d{4}$/);
      expect(r.medicalSubsidyRecipientNumber).toMatch(/^\d{7}$/);
      expect(r.designatedMedicalInstitutions).toHaveLength(1);
      expect(r.designatedMedicalInstitutions?.[0]?.institutionCode).toMatch(/^13\d{8}$/);
      const cap = monthlyCap(
        r.incomeSegment as Parameters<typeof monthlyCap>[0],
        r.severeAndContinuing === true,
      );
      expect(cap).not.toBe('not-covered');
      if (cap === 'none') {
        expect(r.maxCopaymentAmount?.amount).toBeUndefined();
        expect(r.maxCopaymentAmount?.rate).toBe(10);
      } else expect(r.maxCopaymentAmount?.amount).toBe(cap);
      const detail = r.certificationDetail ?? [];
      expect(detail.length).toBeGreaterThanOrEqual(3);
      expect(detail.length).toBeLessThanOrEqual(5);
      expect(detail.map((d) => d.displayOrder)).toEqual(detail.map((_, k) => k + 1));
      expect(JSON.stringify(detail)).not.toContain(person.myNumber);
      expect({ validFrom: r.validFrom, validTo: r.validTo }).toEqual({
        validFrom: '2025-04-01',
        validTo: '2026-03-31',
      });
    }
  });

  it('gives the caps of DOMAIN.md', () => {
    expect(monthlyCap('生活保護', false)).toBe(0);
    expect(monthlyCap('低所得1', true)).toBe(2500);
    expect(monthlyCap('低所得2', false)).toBe(5000);
    expect(monthlyCap('中間所得1', false)).toBe('none');
    expect(monthlyCap('中間所得1', true)).toBe(5000);
    expect(monthlyCap('中間所得2', true)).toBe(10000);
    expect(monthlyCap('一定所得以上', false)).toBe('not-covered');
    expect(monthlyCap('一定所得以上', true)).toBe(20000);
  });
});

describe('reference date', () => {
  const periodOf = (record: RegistrationRecordInput) => {
    const r = upsert(record);
    return { validFrom: r.validFrom, validTo: r.validTo };
  };
  const withoutPeriod = (record: RegistrationRecordInput) => {
    const { validFrom: _from, validTo: _to, ...rest } = upsert(record);
    return rest;
  };

  it('finds the Japanese fiscal year (April–March) of a date', () => {
    expect(fiscalYearOf('2026-11-30')).toEqual({ year: 2026, from: '2026-04-01', to: '2027-03-31' });
    expect(fiscalYearOf('2027-03-31')).toEqual({ year: 2026, from: '2026-04-01', to: '2027-03-31' });
    expect(fiscalYearOf('2027-04-01')).toEqual({ year: 2027, from: '2027-04-01', to: '2028-03-31' });
    expect(fiscalYearOf('2028-02-29').year).toBe(2027);
    for (const bad of ['2027-02-29', '2027-13-01', '27-04-01', '2027-4-1', ''])
      expect(() => fiscalYearOf(bad), bad).toThrow(RangeError);
  });

  it('makes every entitlement valid on its reference date and all through its fiscal year (2027)', () => {
    const referenceDate = '2027-06-15';
    for (const { record } of registrationRecords({ seed: 1, size: 2000, referenceDate })) {
      expect(registrationRecordSchema.safeParse(record).success).toBe(true);
      const { validFrom, validTo } = periodOf(record);
      expect(validFrom <= referenceDate && referenceDate <= (validTo ?? '')).toBe(true);
      expect({ validFrom, validTo }).toEqual({ validFrom: '2027-04-01', validTo: '2028-03-31' });
    }
  });

  it('gives the same records for any date of one fiscal year, so a re-registration changes nothing', () => {
    const april = [...registrationRecords({ seed: 1, size: 300, referenceDate: '2026-04-01' })];
    expect([...registrationRecords({ seed: 1, size: 300, referenceDate: '2026-11-30' })]).toEqual(april);
    expect([...registrationRecords({ seed: 1, size: 300, referenceDate: '2027-03-31' })]).toEqual(april);
  });

  it('changes only the validity from one fiscal year to the next, and keeps people as they are', () => {
    const fy2026 = [...registrationRecords({ seed: 3, size: 300, referenceDate: '2026-11-30' })];
    const fy2027 = [...registrationRecords({ seed: 3, size: 300, referenceDate: '2027-04-01' })];
    fy2027.forEach(({ record, person }, i) => {
      expect(person).toEqual(fy2026[i]?.person);
      expect(withoutPeriod(record)).toEqual(withoutPeriod(fy2026[i]?.record as RegistrationRecordInput));
      expect(periodOf(record)).toEqual({ validFrom: '2027-04-01', validTo: '2028-03-31' });
    });
    expect([...population({ seed: 3, size: 300 })]).toEqual(fy2026.map((g) => g.person));
  });

  it('keeps a fixed default for callers that pass no date (tests, benches)', () => {
    expect([...registrationRecords({ seed: 2, size: 50 })]).toEqual([
      ...registrationRecords({ seed: 2, size: 50, referenceDate: DEFAULT_REFERENCE_DATE }),
    ]);
    const fy = fiscalYearOf(DEFAULT_REFERENCE_DATE);
    expect(fy.year).toBe(2025);
    for (const { record } of registrationRecords({ seed: 2, size: 50 }))
      expect(periodOf(record)).toEqual({ validFrom: fy.from, validTo: fy.to });
  });

  it('writes a later fiscal year as 和暦 that reads back to the same dates', () => {
    const plain = [...registrationRecords({ seed: 6, size: 200, referenceDate: '2031-01-10' })];
    [...registrationRecords({ seed: 6, size: 200, referenceDate: '2031-01-10', eraDates: true })].forEach(
      ({ record }, i) => {
        const r = upsert(record);
        expect(r.validFrom).not.toMatch(/^\d{4}-/);
        expect(parseJapaneseDate(r.validFrom)).toEqual({ ok: true, value: '2030-04-01' });
        expect(parseJapaneseDate(r.validTo ?? '')).toEqual({ ok: true, value: '2031-03-31' });
        expect(periodOf(plain[i]?.record as RegistrationRecordInput).validTo).toBe('2031-03-31');
      },
    );
  });

  it('refuses a reference date that is not a date', () => {
    expect(() => [...registrationRecords({ seed: 1, size: 1, referenceDate: '2027-02-30' })]).toThrow(
      RangeError,
    );
  });
});

describe('corruptRecord', () => {
  const samples = [...registrationRecords({ seed: 21, size: 40 })].map((g) => g.record);
  const eraSamples = [...registrationRecords({ seed: 21, size: 40, eraDates: true })].map((g) => g.record);

  it.each(CORRUPTION_KINDS)('makes the schema reject a record with exactly the code %s', (kind) => {
    for (const record of [...samples, ...eraSamples]) {
      expect(codesOf(corruptRecord(record, kind))).toEqual([kind]);
    }
  });

  it('leaves the original record untouched', () => {
    const record = samples[0] as RegistrationRecordInput;
    const before = structuredClone(record);
    for (const kind of CORRUPTION_KINDS) corruptRecord(record, kind);
    expect(record).toEqual(before);
  });
});

describe('CSV rows', () => {
  it('has a header of distinct linkage columns that the gateway accepts', () => {
    const header = toCsvHeader();
    expect(new Set(header).size).toBe(header.length);
    for (const column of header) expect(LINKAGE_COLUMNS).toHaveProperty([column]);
    expect('errors' in checkHeader(header)).toBe(false);
  });

  it('gives each row as many cells as the header', () => {
    const width = toCsvHeader().length;
    for (const { record } of registrationRecords({ seed: 2, size: 200 }))
      expect(toCsvRow(record)).toHaveLength(width);
  });

  it('round-trips through the gateway row mapping to the same record', () => {
    const header = checkHeader(toCsvHeader());
    if ('errors' in header) throw new Error('bad header');
    for (const { record } of registrationRecords({ seed: 4, size: 300, eraDates: true })) {
      const { record: back, errors } = rowToRecord(header, toCsvRow(record));
      expect(errors).toEqual([]);
      expect(back).toEqual(record);
    }
  });

  it('writes booleans as 1/0, lists as JSON, and missing fields as empty cells', () => {
    const rng = createRandom(1).fork(0);
    const record = upsert(toRegistrationRecord(generatePerson(rng, 0), rng));
    const header = toCsvHeader();
    const row = toCsvRow({ ...record, severeAndContinuing: true, maxCopaymentAmount: { rate: 10 } });
    const cell = (name: string) => row[header.indexOf(name)];
    expect(cell('severeAndContinuing')).toBe('1');
    expect(cell('maxCopaymentAmount.amount')).toBe('');
    expect(JSON.parse(cell('designatedMedicalInstitutions') ?? '')).toEqual(
      record.designatedMedicalInstitutions,
    );
    expect(formatCsvRow(row).split('\n')).toHaveLength(1);
  });
});
