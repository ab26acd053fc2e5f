/**
 * A deterministic, seedable synthetic population of Tokyo residents and their
 * 自立支援医療（精神通院） entitlements, for the case-system simulator and tests.
 *
 * Person `i` of a seed depends only on (seed, i): a million people can be streamed without
 * holding them, and any slice (`offset`, `size`) gives the same people as the whole.
 * 個人番号 are valid (check digit) and unique per seed. Entitlements run over the fiscal year
 * of a reference date (an option; the CLIs pass today), so the data is current whenever it is
 * made and the same all through one fiscal year. Nothing here is real personal data.
 *
 * Source: DOMAIN.md "Identifier formats", "Monthly co-payment caps"; GLOSSARY.md.
 */

import { LINKAGE_COLUMNS } from '../../gateway/index.js';
import {
  isIsoDate,
  toEraString,
  withInsurerCheckDigit,
  withLuhnCheckDigit,
  withMyNumberCheckDigit,
  withRecipientCheckDigit,
} from '../../japanese/index.js';
import type { RegistrationRecordInput } from '../../pmh/index.js';
import {
  BUILDING_NAMES,
  CLINIC_NAMES,
  FAMILY_NAMES,
  FEMALE_GIVEN_NAMES,
  KANJI_DIGITS,
  MALE_GIVEN_NAMES,
  TOKYO_WARDS,
} from './names.js';

// ---------------------------------------------------------------------------------------
// Random numbers
// ---------------------------------------------------------------------------------------

/**
 * A small seeded generator (mulberry32). `fork(key)` depends only on this generator's
 * origin (its seed and the fork keys that led to it) and `key`, never on how many numbers
 * were drawn, so `root.fork(i)` is person i's stream whatever happened before.
 */
export interface Random {
  /** 32-bit key of the root seed, shared by every fork (used to derive 個人番号). */
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max], both inclusive. */
  int(min: number, max: number): number;
  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T;
  /** True with probability `p`. */
  chance(p: number): boolean;
  /** An independent generator for `key` (e.g. a person's index). */
  fork(key: number | string): Random;
}

/** murmur3's 32-bit finaliser: a cheap, well-mixing bijection on uint32. */
function fmix32(h: number): number {
  let x = h >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** 32-bit hash of a string (FNV-1a over UTF-16 code units, then fmix32). */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

function keyOf(key: number | string): number {
  if (typeof key === 'string') return hashString(key);
  if (Number.isSafeInteger(key) && key >= 0) {
    const lo = key >>> 0;
    const hi = Math.floor(key / 0x1_0000_0000) >>> 0;
    return fmix32(fmix32(lo + 0x9e3779b9) ^ Math.imul(hi, 0x27d4eb2f));
  }
  return hashString(String(key));
}

class Mulberry32 implements Random {
  private state: number;

  constructor(
    readonly seed: number,
    private readonly origin: number,
  ) {
    this.state = origin | 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick: empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  fork(key: number | string): Random {
    return new Mulberry32(this.seed, fmix32(this.origin ^ keyOf(key)) ^ 0x5bd1e995);
  }
}

/**
 * A seeded generator. The same seed (number or string; `1` and `'1'` are the same seed)
 * always gives the same sequence. Never uses `Math.random`.
 *
 * @example
 * const rng = createRandom('demo');
 * rng.int(1, 6); // a die roll, the same every run
 */
export function createRandom(seed: number | string): Random {
  const key = hashString(String(seed));
  return new Mulberry32(key, fmix32(key ^ 0xa5a5a5a5));
}

// ---------------------------------------------------------------------------------------
// People
// ---------------------------------------------------------------------------------------

/** One synthetic resident: 個人番号 + 基本5情報 (`basicFiveInfo`). */
export interface Person {
  /** 12 digits with a valid check digit; unique within a seed. */
  myNumber: string;
  /** Kanji family and given name separated by one ASCII space: `佐藤 花子`. */
  name: string;
  /** Full-width katakana, one ASCII space: `サトウ ハナコ`. */
  nameKana: string;
  /** A Tokyo 23-ward address: `東京都世田谷区北沢二丁目3番4号 コーポ桜101号室`. */
  address: string;
  /** ISO date between 1930-01-01 and 2020-12-31. */
  dateOfBirth: string;
  /** `'1'` male, `'2'` female. */
  sex: '1' | '2';
}

const MY_NUMBER_SPACE = 100_000_000_000n; // 10^11 base values
/** Odd and not a multiple of 5, so coprime with 10^11: i ↦ i·A mod 10^11 is a bijection. */
const MY_NUMBER_MULTIPLIER = 7_305_295_853n;

/**
 * The 個人番号 of person `index` in the population of `seedKey` (a {@link Random.seed}):
 * the 11 base digits are (index · A + offset(seed)) mod 10^11, a bijection of the index,
 * so numbers never repeat within a seed for index < 10^11.
 *
 * @example
 * myNumberFor(createRandom(1).seed, 0); // '…' (12 digits, valid check digit)
 */
export function myNumberFor(seedKey: number, index: number): string {
  if (!Number.isSafeInteger(index) || index < 0 || index >= 1e11) {
    throw new RangeError(`myNumberFor: index out of range: ${index}`);
  }
  const offset =
    (BigInt(fmix32(seedKey ^ 0x1b873593)) * 0x1_0000_0000n + BigInt(fmix32(seedKey))) % MY_NUMBER_SPACE;
  const base = (BigInt(index) * MY_NUMBER_MULTIPLIER + offset) % MY_NUMBER_SPACE;
  return withMyNumberCheckDigit(base.toString().padStart(11, '0'));
}

const DAY_MS = 86_400_000;
const BIRTH_FIRST_DAY = Date.UTC(1930, 0, 1) / DAY_MS;
const BIRTH_LAST_DAY = Date.UTC(2020, 11, 31) / DAY_MS;

function isoOfDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

function chomeOf(rng: Random): string {
  const n = rng.int(1, 6);
  return rng.chance(0.5) ? `${KANJI_DIGITS[n]}丁目` : `${n}丁目`;
}

function addressOf(rng: Random): string {
  const ward = rng.pick(TOKYO_WARDS);
  const town = rng.pick(ward.towns);
  let address = `東京都${ward.name}${town}${chomeOf(rng)}${rng.int(1, 30)}番${rng.int(1, 25)}号`;
  if (rng.chance(0.4)) {
    const room = rng.int(1, 12) * 100 + rng.int(1, 10);
    address += ` ${rng.pick(BUILDING_NAMES)}${room}号室`;
  }
  return address;
}

/**
 * Person `index`, drawn from `rng`. The 個人番号 comes from (`rng.seed`, `index`); every
 * other attribute is drawn from `rng`, so pass `createRandom(seed).fork(index)` (as
 * {@link population} does) to make the person depend on (seed, index) only.
 *
 * @example
 * const root = createRandom(1);
 * const p = generatePerson(root.fork(0), 0); // { myNumber: '…', name: '佐藤 花子', … }
 */
export function generatePerson(rng: Random, index: number): Person {
  const sex: '1' | '2' = rng.chance(0.5) ? '1' : '2';
  const [familyKanji, familyKana] = rng.pick(FAMILY_NAMES);
  const [givenKanji, givenKana] = rng.pick(sex === '1' ? MALE_GIVEN_NAMES : FEMALE_GIVEN_NAMES);
  const dateOfBirth = isoOfDay(rng.int(BIRTH_FIRST_DAY, BIRTH_LAST_DAY));
  return {
    myNumber: myNumberFor(rng.seed, index),
    name: `${familyKanji} ${givenKanji}`,
    nameKana: `${familyKana} ${givenKana}`,
    address: addressOf(rng),
    dateOfBirth,
    sex,
  };
}

/** Options of {@link population}: people `offset` … `offset + size − 1` of `seed`. */
export interface PopulationOptions {
  seed: number | string;
  size: number;
  offset?: number;
}

/**
 * Streams people `offset` … `offset + size − 1` of a seed, one at a time.
 *
 * @example
 * for (const person of population({ seed: 1, size: 1_000_000 })) write(person);
 */
export function* population(opts: PopulationOptions): Generator<Person> {
  const root = createRandom(opts.seed);
  const from = opts.offset ?? 0;
  for (let i = from; i < from + opts.size; i++) yield generatePerson(root.fork(i), i);
}

// ---------------------------------------------------------------------------------------
// Entitlements (自立支援医療（精神通院）)
// ---------------------------------------------------------------------------------------

/** 所得区分 of 自立支援医療（精神通院）, as `incomeSegment`. */
export const INCOME_SEGMENTS = [
  '生活保護',
  '低所得1',
  '低所得2',
  '中間所得1',
  '中間所得2',
  '一定所得以上',
] as const;
/** One of {@link INCOME_SEGMENTS}. */
export type IncomeSegment = (typeof INCOME_SEGMENTS)[number];

/**
 * The monthly co-payment cap in yen for an income segment (DOMAIN.md "Monthly co-payment
 * caps"): a number, `'none'` (no cap, 10 % co-pay), or `'not-covered'` (一定所得以上 without
 * 重度かつ継続 is outside the programme).
 *
 * @example
 * monthlyCap('中間所得2', true); // 10000
 * monthlyCap('中間所得1', false); // 'none'
 */
export function monthlyCap(
  segment: IncomeSegment,
  severeAndContinuing: boolean,
): number | 'none' | 'not-covered' {
  switch (segment) {
    case '生活保護':
      return 0;
    case '低所得1':
      return 2500;
    case '低所得2':
      return 5000;
    case '中間所得1':
      return severeAndContinuing ? 5000 : 'none';
    case '中間所得2':
      return severeAndContinuing ? 10000 : 'none';
    case '一定所得以上':
      return severeAndContinuing ? 20000 : 'not-covered';
  }
}

/** The certificate type id every simulated entitlement uses. */
export const CERTIFICATE_TYPE_ID = 'JIRITSUSEISHIN';
/** The certificate name every simulated entitlement uses (受給者証名). */
export const CERTIFICATION_NAME = '自立支援医療受給者証（精神通院）';

/** 実施機関番号 used for the simulated Tokyo 公費負担者番号 (法別 21, 都道府県 13). */
const AGENCY_NUMBERS = ['601', '602', '603', '611'] as const;
const ERA_STYLES = ['letter', 'kanji', 'code'] as const;

// ---------------------------------------------------------------------------------------
// Reference date and fiscal year
// ---------------------------------------------------------------------------------------

/**
 * The reference date of records when none is given: in fiscal year 2025 (2025-04-01〜2026-03-31),
 * so that whoever passes none (tests, benches) keeps the same data every day. The CLIs pass
 * today instead.
 */
export const DEFAULT_REFERENCE_DATE = '2025-04-01';

/** A Japanese fiscal year (年度): `year` runs from `year`-04-01 to (`year` + 1)-03-31. */
export interface FiscalYear {
  year: number;
  /** ISO date of its first day (1 April). */
  from: string;
  /** ISO date of its last day (31 March of the next year). */
  to: string;
}

/**
 * The fiscal year (年度, April–March) containing an ISO date.
 *
 * @throws RangeError for anything but a real YYYY-MM-DD date.
 * @example
 * fiscalYearOf('2026-11-30'); // { year: 2026, from: '2026-04-01', to: '2027-03-31' }
 * fiscalYearOf('2027-02-14'); // { year: 2026, … }
 */
export function fiscalYearOf(date: string): FiscalYear {
  if (!isIsoDate(date)) throw new RangeError(`fiscalYearOf: not a YYYY-MM-DD date: ${JSON.stringify(date)}`);
  const [y, m] = [Number(date.slice(0, 4)), Number(date.slice(5, 7))];
  const year = m >= 4 ? y : y - 1;
  const pad = (y: number) => String(y).padStart(4, '0');
  return { year, from: `${pad(year)}-04-01`, to: `${pad(year + 1)}-03-31` };
}

let lastFiscalYear: { date: string; fy: FiscalYear } | undefined;

/** {@link fiscalYearOf}, remembering the last answer (a file asks for the same date per row). */
function cachedFiscalYearOf(date: string): FiscalYear {
  if (lastFiscalYear?.date !== date) lastFiscalYear = { date, fy: fiscalYearOf(date) };
  return lastFiscalYear.fy;
}

/** Options of {@link toRegistrationRecord}. */
export interface RecordOptions {
  /**
   * The reference date (YYYY-MM-DD, default {@link DEFAULT_REFERENCE_DATE}): every entitlement
   * runs over the fiscal year containing it (validFrom 1 April, validTo 31 March), so it is
   * valid on every day of that fiscal year. Records depend on its fiscal year only: any two
   * dates of one fiscal year give the same records (re-registering them changes nothing).
   */
  referenceDate?: string;
  /** Write every date as 和暦 (R07.04.01, 令和7年4月1日, 5070401: a style per date). */
  eraDates?: boolean;
  /**
   * Times each entitlement was renewed (自立支援医療 runs a year at a time): `validTo` that many
   * years later, all else the same (default 0). A file of renewed records updates every
   * entitlement of the file without them.
   */
  renewals?: number;
  /** Times each person moved house: a new address (drawn apart from the rest), all else the same. */
  moves?: number;
  /** Each record withdraws the entitlement instead (`modificationSeg` '2': 個人番号 and key only). */
  withdrawn?: boolean;
}

/**
 * A valid register-or-update record (`modificationSeg` '1') for a 自立支援医療（精神通院）
 * entitlement of `person`, drawn from `rng` (pass person i's fork for determinism). It
 * passes `registrationRecordSchema`; the face items never carry the 個人番号.
 *
 * @example
 * const rng = createRandom(1).fork(0);
 * const record = toRegistrationRecord(generatePerson(rng, 0), rng, { eraDates: true });
 */
export function toRegistrationRecord(
  person: Person,
  rng: Random,
  opts: RecordOptions = {},
): RegistrationRecordInput {
  const date = (iso: string) => (opts.eraDates ? toEraString(iso, rng.pick(ERA_STYLES)) : iso);

  const segment = rng.pick(INCOME_SEGMENTS);
  const severe = segment === '一定所得以上' ? true : rng.chance(0.4);
  const cap = monthlyCap(segment, severe);
  const maxCopaymentAmount =
    typeof cap === 'number'
      ? {
          capId: String(INCOME_SEGMENTS.indexOf(segment) + 1).padStart(2, '0'),
          capKind: '月額上限',
          definition: '1か月あたりの自己負担上限額',
          rate: cap === 0 ? 0 : 10,
          amount: cap,
        }
      : { capId: '00', capKind: '定率', definition: '医療費の1割', rate: 10 };

  const recipientNumber = withRecipientCheckDigit(String(rng.int(0, 999_999)).padStart(6, '0'));
  const insurerNumber = withInsurerCheckDigit(`2113${rng.pick(AGENCY_NUMBERS)}`);

  const ward = rng.pick(TOKYO_WARDS);
  const institutionCode = withLuhnCheckDigit(
    `131${ward.code5.slice(3)}${String(rng.int(0, 9999)).padStart(4, '0')}`,
  );
  const institutionName = `${rng.pick(ward.towns)}${rng.pick(CLINIC_NAMES)}`;

  // Once the month a period started in; still drawn so that the fields drawn after it (the
  // certificate lines, the 和暦 styles) stay as they were for a seed.
  rng.int(1, 12);
  const fiscalYear = cachedFiscalYearOf(opts.referenceDate ?? DEFAULT_REFERENCE_DATE);
  const validFrom = fiscalYear.from;
  const validTo = `${String(fiscalYear.year + 1 + (opts.renewals ?? 0)).padStart(4, '0')}-03-31`;

  const faceItems: [string, string][] = [
    ['受給者番号', recipientNumber],
    ['氏名', person.name],
    ['指定医療機関', institutionName],
    ['所得区分', segment],
    ['重度かつ継続', severe ? '該当' : '非該当'],
  ];
  const certificationDetail = faceItems.slice(0, rng.int(3, 5)).map(([itemName, itemValue], k) => ({
    displayOrder: k + 1,
    itemName,
    itemValue,
  }));

  return {
    modificationSeg: '1',
    myNumber: person.myNumber,
    basicFiveInfo: {
      name: person.name,
      nameKana: person.nameKana,
      address: person.address,
      dateOfBirth: date(person.dateOfBirth),
      sex: person.sex,
    },
    orgSpecificCertificateTypeId: CERTIFICATE_TYPE_ID,
    certificationName: CERTIFICATION_NAME,
    medicalSubsidyInsurerNumber: insurerNumber,
    medicalSubsidyRecipientNumber: recipientNumber,
    isAlwaysReimbursement: '0',
    incomeSegment: segment,
    severeAndContinuing: severe,
    maxCopaymentAmount,
    designatedMedicalInstitutions: [{ institutionCode, institutionName }],
    validFrom: date(validFrom),
    validTo: date(validTo),
    certificationDetail,
  };
}

/** One generated row: the index, the person and their record. */
export interface GeneratedRecord {
  index: number;
  person: Person;
  record: RegistrationRecordInput;
}

/**
 * Streams people with their records; row i depends on (seed, i and the options) only — on
 * the reference date through its fiscal year only.
 *
 * @example
 * for (const { record } of registrationRecords({ seed: 1, size: 10 })) send(record);
 */
export function* registrationRecords(opts: PopulationOptions & RecordOptions): Generator<GeneratedRecord> {
  const root = createRandom(opts.seed);
  const from = opts.offset ?? 0;
  const recordOptions: RecordOptions = {
    referenceDate: opts.referenceDate ?? DEFAULT_REFERENCE_DATE,
    eraDates: opts.eraDates ?? false,
    renewals: opts.renewals ?? 0,
  };
  cachedFiscalYearOf(recordOptions.referenceDate as string); // a bad date throws before the first row
  // New addresses from a stream of their own, so that every other field stays as it was.
  const moved = opts.moves ? createRandom(`${opts.seed}:moves:${opts.moves}`) : undefined;
  for (let index = from; index < from + opts.size; index++) {
    const rng = root.fork(index);
    const born = generatePerson(rng, index);
    const person = moved ? { ...born, address: addressOf(moved.fork(index)) } : born;
    const record = toRegistrationRecord(person, rng, recordOptions);
    yield {
      index,
      person,
      record: opts.withdrawn
        ? {
            modificationSeg: '2',
            myNumber: record.myNumber,
            orgSpecificCertificateTypeId: record.orgSpecificCertificateTypeId,
          }
        : record,
    };
  }
}

// ---------------------------------------------------------------------------------------
// CSV (linkage file rows)
// ---------------------------------------------------------------------------------------

/** The column order of simulated linkage files: every field {@link toRegistrationRecord} fills. */
const CSV_COLUMNS: readonly string[] = [
  'modificationSeg',
  'myNumber',
  'basicFiveInfo.name',
  'basicFiveInfo.nameKana',
  'basicFiveInfo.address',
  'basicFiveInfo.dateOfBirth',
  'basicFiveInfo.sex',
  'orgSpecificCertificateTypeId',
  'certificationName',
  'medicalSubsidyInsurerNumber',
  'medicalSubsidyRecipientNumber',
  'isAlwaysReimbursement',
  'incomeSegment',
  'severeAndContinuing',
  'maxCopaymentAmount.capId',
  'maxCopaymentAmount.capKind',
  'maxCopaymentAmount.definition',
  'maxCopaymentAmount.rate',
  'maxCopaymentAmount.amount',
  'designatedMedicalInstitutions',
  'validFrom',
  'validTo',
  'certificationDetail',
];

for (const column of CSV_COLUMNS) {
  if (!(column in LINKAGE_COLUMNS)) throw new Error(`population: ${column} is not a linkage column`);
}

/**
 * The header row of simulated linkage files (a fresh copy; names from LINKAGE_COLUMNS).
 *
 * @example
 * formatCsvRow(toCsvHeader()); // 'modificationSeg,myNumber,basicFiveInfo.name,…'
 */
export function toCsvHeader(): string[] {
  return [...CSV_COLUMNS];
}

function cellOf(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return JSON.stringify(value);
}

/**
 * One CSV row for `record` in the order of `columns` (default {@link toCsvHeader}): nested
 * fields from dotted columns, lists as JSON, booleans as 1/0, missing fields empty.
 *
 * @example
 * formatCsvRow(toCsvRow(record)); // '1,123456789018,佐藤 花子,…'
 */
export function toCsvRow(
  record: RegistrationRecordInput,
  columns: readonly string[] = CSV_COLUMNS,
): string[] {
  const source = record as unknown as Record<string, unknown>;
  const row: string[] = new Array(columns.length);
  for (let k = 0; k < columns.length; k++) {
    const column = columns[k] as string;
    const dot = column.indexOf('.');
    if (dot < 0) row[k] = cellOf(source[column]);
    else {
      const parent = source[column.slice(0, dot)] as Record<string, unknown> | undefined;
      row[k] = cellOf(parent?.[column.slice(dot + 1)]);
    }
  }
  return row;
}

// ---------------------------------------------------------------------------------------
// Bad rows
// ---------------------------------------------------------------------------------------

/** The kinds of planted errors; each is also the field code the schema rejects it with. */
export const CORRUPTION_KINDS = [
  'my-number-check-digit',
  'outside-era',
  'insurer-number-check-digit',
  'invalid-kana',
  'valid-from-after-valid-to',
] as const;
/** One of {@link CORRUPTION_KINDS}. */
export type CorruptionKind = (typeof CORRUPTION_KINDS)[number];

function otherDigit(d: string): string {
  return String((Number(d) + 1) % 10);
}

/**
 * A copy of a valid register-or-update `record` with one planted error, which
 * `registrationRecordSchema` rejects with exactly the code named by `kind`:
 * - `my-number-check-digit`: the 個人番号's last digit changed;
 * - `outside-era`: `validFrom` = `H31.5.1` (Heisei ended 2019-04-30);
 * - `insurer-number-check-digit`: the 公費負担者番号's last digit changed;
 * - `invalid-kana`: `nameKana` = `abc`;
 * - `valid-from-after-valid-to`: `validFrom` and `validTo` swapped.
 *
 * @throws TypeError for a delete record (`modificationSeg` '2') or one without `validTo`
 *   when the kind needs it.
 * @example
 * registrationRecordSchema.safeParse(corruptRecord(record, 'invalid-kana')).success; // false
 */
export function corruptRecord(
  record: RegistrationRecordInput,
  kind: CorruptionKind,
): RegistrationRecordInput {
  const copy = structuredClone(record);
  if (kind === 'my-number-check-digit') {
    copy.myNumber = copy.myNumber.slice(0, 11) + otherDigit(copy.myNumber.slice(11));
    return copy;
  }
  if (copy.modificationSeg !== '1')
    throw new TypeError(`corruptRecord: ${kind} needs a register-or-update record`);
  switch (kind) {
    case 'outside-era':
      copy.validFrom = 'H31.5.1';
      break;
    case 'insurer-number-check-digit': {
      const n = copy.medicalSubsidyInsurerNumber;
      copy.medicalSubsidyInsurerNumber = n.slice(0, 7) + otherDigit(n.slice(7, 8));
      break;
    }
    case 'invalid-kana':
      copy.basicFiveInfo.nameKana = 'abc';
      break;
    case 'valid-from-after-valid-to': {
      if (copy.validTo === undefined) throw new TypeError('corruptRecord: the record has no validTo');
      const from = copy.validFrom;
      copy.validFrom = copy.validTo;
      copy.validTo = from;
      break;
    }
  }
  return copy;
}
