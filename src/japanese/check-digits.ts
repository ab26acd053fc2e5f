/**
 * Check digits of the Japanese identifiers the gateway validates per row.
 *
 * Every validator reads the string by char code, allocates nothing and never throws;
 * the `*CheckDigit` functions throw a `RangeError` on malformed input because that is a
 * programming error on the caller's side (simulators, tests), not bad row data.
 *
 * Source of every rule: DOMAIN.md "Identifier formats".
 */

const CODE_0 = 48;

/** Digit sum of 2·d for d = 0..9 (the Luhn "double and add the digits" step). */
const LUHN_DOUBLED: readonly number[] = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9];

/** 個人番号 weights Q(n) for n = 1..11 counted from the right, stored left to right. */
const MY_NUMBER_WEIGHTS: readonly number[] = [6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2];

/** 全国地方公共団体コード weights for the five base digits, left to right. */
const MUNICIPALITY_WEIGHTS: readonly number[] = [6, 5, 4, 3, 2];

/**
 * Digit at `i` of `s` as a number, or -1 when it is not an ASCII digit.
 * Full-width digits are refused on purpose: callers normalise input before validating.
 */
function digitAt(s: string, i: number): number {
  const d = s.charCodeAt(i) - CODE_0;
  return d >= 0 && d <= 9 ? d : -1;
}

/** Luhn check digit of the first `len` chars of `s`, or -1 when one of them is not a digit. */
function luhnOver(s: string, len: number): number {
  let sum = 0;
  let double = true;
  for (let i = len - 1; i >= 0; i--) {
    const d = digitAt(s, i);
    if (d < 0) return -1;
    sum += double ? (LUHN_DOUBLED[d] as number) : d;
    double = !double;
  }
  return (10 - (sum % 10)) % 10;
}

/** 個人番号 check digit of the first 11 chars of `s`, or -1 when one of them is not a digit. */
function myNumberOver(s: string): number {
  let sum = 0;
  for (let i = 0; i < 11; i++) {
    const d = digitAt(s, i);
    if (d < 0) return -1;
    sum += d * (MY_NUMBER_WEIGHTS[i] as number);
  }
  const r = sum % 11;
  return r <= 1 ? 0 : 11 - r;
}

/** Municipality-code check digit of the first 5 chars of `s`, or -1 when one is not a digit. */
function municipalityOver(s: string): number {
  let sum = 0;
  for (let i = 0; i < 5; i++) {
    const d = digitAt(s, i);
    if (d < 0) return -1;
    sum += d * (MUNICIPALITY_WEIGHTS[i] as number);
  }
  return (11 - (sum % 11)) % 10;
}

function checkedDigit(digit: number, input: string, len: number, what: string): number {
  if (digit < 0 || input.length !== len) {
    throw new RangeError(`${what}: expected ${len} ASCII digits, got ${JSON.stringify(input)}`);
  }
  return digit;
}

function hasCheckDigit(s: string, len: number, digit: number): boolean {
  return digit >= 0 && digitAt(s, len) === digit;
}

/**
 * Check digit of a 個人番号 (My Number) from its first 11 digits: with P(n) the n-th digit
 * from the right and Q(n) = n + 1 (n ≤ 6) or n − 5 (n ≥ 7), r = Σ P(n)·Q(n) mod 11 and
 * the check digit is 0 when r ≤ 1, else 11 − r.
 *
 * Source: DOMAIN.md "Identifier formats" (個人番号).
 * @throws RangeError when `first11` is not exactly 11 ASCII digits.
 * @example myNumberCheckDigit('12345678901') // => 8
 */
export function myNumberCheckDigit(first11: string): number {
  return checkedDigit(myNumberOver(first11), first11, 11, 'myNumberCheckDigit');
}

/**
 * True when `s` is a 個人番号: exactly 12 ASCII digits whose last digit is the check digit
 * of the first 11. Note that r = 0 and r = 1 share check digit 0, so a few single-digit
 * typos still pass; the check is an error filter, not proof of existence.
 *
 * Source: DOMAIN.md "Identifier formats" (個人番号).
 * @example isValidMyNumber('123456789018') // => true
 */
export function isValidMyNumber(s: string): boolean {
  return s.length === 12 && hasCheckDigit(s, 11, myNumberOver(s));
}

/**
 * Check digit of a 公費負担者番号 from its first 7 digits (法別番号 2 + 都道府県番号 2 +
 * 実施機関番号 3): weights 2,1,2,1… from the last base digit, add the digits of each
 * product, check = 10 − (sum mod 10), 0 when that is 10 (the Luhn rule).
 *
 * Source: DOMAIN.md "Identifier formats" (公費負担者番号).
 * @throws RangeError when `first7` is not exactly 7 ASCII digits.
 * @example insurerNumberCheckDigit('5401602') // => 7
 */
export function insurerNumberCheckDigit(first7: string): number {
  return checkedDigit(luhnOver(first7, 7), first7, 7, 'insurerNumberCheckDigit');
}

/**
 * True when `s` is a 公費負担者番号 (`medicalSubsidyInsurerNumber`): exactly 8 ASCII digits
 * whose last digit is the check digit of the first 7. Detects every single-digit error.
 *
 * Source: DOMAIN.md "Identifier formats" (公費負担者番号).
 * @example isValidInsurerNumber('54016027') // => true
 */
export function isValidInsurerNumber(s: string): boolean {
  return s.length === 8 && hasCheckDigit(s, 7, luhnOver(s, 7));
}

/**
 * Check digit of a national programme's 公費受給者番号 from its first 6 digits; same
 * weighting as the 公費負担者番号 (Luhn).
 *
 * Source: DOMAIN.md "Identifier formats" (公費受給者番号).
 * @throws RangeError when `first6` is not exactly 6 ASCII digits.
 * @example recipientNumberCheckDigit('960328') // => 3
 */
export function recipientNumberCheckDigit(first6: string): number {
  return checkedDigit(luhnOver(first6, 6), first6, 6, 'recipientNumberCheckDigit');
}

/**
 * True when `s` is a 7-digit national-programme 公費受給者番号 with a correct check digit.
 * Only apply it where {@link isNationalProgramme} says so: local programmes allow up to 30
 * free-form characters.
 *
 * Source: DOMAIN.md "Identifier formats" (公費受給者番号).
 * @example isValidNationalRecipientNumber('9603283') // => true
 */
export function isValidNationalRecipientNumber(s: string): boolean {
  return s.length === 7 && hasCheckDigit(s, 6, luhnOver(s, 6));
}

/**
 * 法別番号 (first two digits of a 公費負担者番号) of the national public-expense programmes
 * whose 公費受給者番号 is 7 digits (6 + check digit):
 *
 * - 10 感染症法 結核患者の適正医療, 11 感染症法 結核患者の入院
 * - 12 生活保護法 医療扶助
 * - 15 障害者総合支援法 更生医療, 16 育成医療, 21 精神通院医療, 24 療養介護医療
 * - 17 児童福祉法 療育の給付
 * - 18 原爆援護法 認定疾病医療, 19 一般疾病医療費
 * - 20 精神保健福祉法 措置入院
 * - 22 麻薬及び向精神薬取締法 入院措置
 * - 23 母子保健法 養育医療
 * - 28 感染症法 一類・二類感染症等の入院, 29 新感染症の入院
 * - 30 医療観察法 医療の実施
 * - 38 肝炎治療特別促進事業 (also 肝がん・重度肝硬変治療研究促進事業)
 * - 51 特定疾患治療研究事業 etc., 52 児童福祉法 小児慢性特定疾病医療支援, 53 児童保護措置
 * - 54 難病法 特定医療
 * - 62 特定B型肝炎ウイルス感染者給付金等支給法
 * - 66 石綿健康被害救済法
 * - 79 児童福祉法 障害児施設医療
 *
 * Deliberately left out (recipient-number format not confirmed): 13 and 14 (戦傷病者特別
 * 援護法) and 25 (中国残留邦人等支援). A code missing here only skips the check digit test;
 * a wrong code here would refuse valid rows, so the list errs on the short side.
 *
 * Source: the 法別番号 table of MHLW's 診療報酬請求書等の記載要領 (別表1); DOMAIN.md
 * "Identifier formats" (12, 15, 21).
 * @example NATIONAL_PROGRAMME_LAW_CODES.has('21') // => true
 */
export const NATIONAL_PROGRAMME_LAW_CODES: ReadonlySet<string> = new Set([
  '10',
  '11',
  '12',
  '15',
  '16',
  '17',
  '18',
  '19',
  '20',
  '21',
  '22',
  '23',
  '24',
  '28',
  '29',
  '30',
  '38',
  '51',
  '52',
  '53',
  '54',
  '62',
  '66',
  '79',
]);

const NATIONAL_LAW_CODE_TABLE: readonly boolean[] = Array.from({ length: 100 }, (_, n) =>
  NATIONAL_PROGRAMME_LAW_CODES.has(n < 10 ? `0${n}` : `${n}`),
);

/**
 * True when the 公費負担者番号's 法別番号 (its first two digits) is in
 * {@link NATIONAL_PROGRAMME_LAW_CODES}, i.e. the programme's 公費受給者番号 must be a
 * 7-digit number with a check digit. Only the first two characters are read.
 *
 * Source: DOMAIN.md "Identifier formats" (公費受給者番号).
 * @example isNationalProgramme('21136015') // => true (自立支援医療 精神通院)
 */
export function isNationalProgramme(insurerNumber: string): boolean {
  const tens = digitAt(insurerNumber, 0);
  const ones = digitAt(insurerNumber, 1);
  return tens >= 0 && ones >= 0 && NATIONAL_LAW_CODE_TABLE[tens * 10 + ones] === true;
}

/**
 * Check digit of a 全国地方公共団体コード from its first 5 digits:
 * (11 − Σ d·(6,5,4,3,2) mod 11) mod 10.
 *
 * Source: DOMAIN.md "Identifier formats" (municipality code).
 * @throws RangeError when `first5` is not exactly 5 ASCII digits.
 * @example municipalityCodeCheckDigit('13101') // => 6 (Chiyoda-ku 131016)
 */
export function municipalityCodeCheckDigit(first5: string): number {
  return checkedDigit(municipalityOver(first5), first5, 5, 'municipalityCodeCheckDigit');
}

/**
 * True when `s` is a 6-digit 全国地方公共団体コード (`municipalityCode`) with a correct
 * check digit. Remainders 0 and 10 share check digit 1, so a few single-digit typos pass.
 *
 * Source: DOMAIN.md "Identifier formats" (municipality code).
 * @example isValidMunicipalityCode('130001') // => true (Tokyo)
 */
export function isValidMunicipalityCode(s: string): boolean {
  return s.length === 6 && hasCheckDigit(s, 5, municipalityOver(s));
}

/**
 * Luhn check digit of 9 digits (the base of a 医療機関コード): weights 2,1,2,1… from the
 * last base digit, digits of each product added, check = (10 − sum mod 10) mod 10.
 *
 * Source: DOMAIN.md "Identifier formats" (医療機関コード).
 * @throws RangeError when `first9` is not exactly 9 ASCII digits.
 * @example luhnCheckDigit('011011371') // => 9
 */
export function luhnCheckDigit(first9: string): number {
  return checkedDigit(luhnOver(first9, 9), first9, 9, 'luhnCheckDigit');
}

/**
 * True when `s` is a 10-digit 医療機関コード (`institutionCode`: 都道府県 2 + 点数表 1 +
 * 郡市区 2 + 機関番号 4 + check digit) that passes Luhn over all 10 digits.
 *
 * Source: DOMAIN.md "Identifier formats" (医療機関コード).
 * @example isValidInstitutionCode('0110113719') // => true
 */
export function isValidInstitutionCode(s: string): boolean {
  return s.length === 10 && hasCheckDigit(s, 9, luhnOver(s, 9));
}

/**
 * The 12-digit 個人番号 made of `first11` and its check digit (for simulators).
 *
 * Source: DOMAIN.md "Identifier formats" (個人番号).
 * @throws RangeError when `first11` is not exactly 11 ASCII digits.
 * @example withMyNumberCheckDigit('12345678901') // => '123456789018'
 */
export function withMyNumberCheckDigit(first11: string): string {
  return first11 + myNumberCheckDigit(first11);
}

/**
 * The 8-digit 公費負担者番号 made of `first7` and its check digit (for simulators).
 *
 * Source: DOMAIN.md "Identifier formats" (公費負担者番号).
 * @throws RangeError when `first7` is not exactly 7 ASCII digits.
 * @example withInsurerCheckDigit('2113601') // => '21136015'
 */
export function withInsurerCheckDigit(first7: string): string {
  return first7 + insurerNumberCheckDigit(first7);
}

/**
 * The 7-digit national 公費受給者番号 made of `first6` and its check digit (for simulators).
 *
 * Source: DOMAIN.md "Identifier formats" (公費受給者番号).
 * @throws RangeError when `first6` is not exactly 6 ASCII digits.
 * @example withRecipientCheckDigit('960328') // => '9603283'
 */
export function withRecipientCheckDigit(first6: string): string {
  return first6 + recipientNumberCheckDigit(first6);
}

/**
 * The 6-digit 全国地方公共団体コード made of `first5` and its check digit (for simulators).
 *
 * Source: DOMAIN.md "Identifier formats" (municipality code).
 * @throws RangeError when `first5` is not exactly 5 ASCII digits.
 * @example withMunicipalityCheckDigit('13112') // => '131121' (Setagaya-ku)
 */
export function withMunicipalityCheckDigit(first5: string): string {
  return first5 + municipalityCodeCheckDigit(first5);
}

/**
 * The 10-digit 医療機関コード made of `first9` and its Luhn check digit (for simulators).
 *
 * Source: DOMAIN.md "Identifier formats" (医療機関コード).
 * @throws RangeError when `first9` is not exactly 9 ASCII digits.
 * @example withLuhnCheckDigit('011011371') // => '0110113719'
 */
export function withLuhnCheckDigit(first9: string): string {
  return first9 + luhnCheckDigit(first9);
}
