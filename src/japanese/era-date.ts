/**
 * Dates as Japanese case systems write them: ISO, compact, slashed, and 和暦 (japaneseEra)
 * in letter (R7.4.1), kanji (令和7年4月1日) and era-code (5070401) forms.
 *
 * Source of the era table: GLOSSARY.md 和暦 (元号) row; DOMAIN.md "Identifier formats"
 * names the date fields (`dateOfBirth`, `validFrom`, `validTo`) as ISO dates.
 */

/**
 * Outcome of {@link parseJapaneseDate}: the ISO `YYYY-MM-DD` date, or why there is none.
 * `invalid-date`: unreadable or impossible on the calendar (2025-02-30).
 * `outside-era`: a real calendar day that the named era does not cover (H31.5.1).
 *
 * Source: DOMAIN.md "The public PMH municipality API" (dates travel as ISO dates).
 * @example const r: DateParseResult = parseJapaneseDate('R7.4.1'); // { ok: true, value: '2025-04-01' }
 */
export type DateParseResult =
  | { ok: true; value: string }
  | { ok: false; code: 'invalid-date' | 'outside-era' };

interface Era {
  readonly letter: string;
  readonly kanji: string;
  readonly code: number;
  /** Gregorian year of era year 0, so Gregorian year = offset + era year. */
  readonly offset: number;
  /** First day as yyyymmdd. */
  readonly start: number;
  /** Last day as yyyymmdd (inclusive). */
  readonly end: number;
}

/**
 * Meiji starts on 1868-01-25, the Gregorian date of Keiō 4 (= Meiji 1), month 1, day 1:
 * the 1868-10-23 edict applied the new era from the start of that lunisolar year. Japan
 * used the lunisolar calendar until 1872-12-02 (Gregorian from Meiji 6 = 1873-01-01), so
 * era dates before 1873 are read here as Gregorian month/day (proleptic), not lunisolar.
 */
const ERAS: readonly Era[] = [
  { letter: 'M', kanji: '明治', code: 1, offset: 1867, start: 18680125, end: 19120729 },
  { letter: 'T', kanji: '大正', code: 2, offset: 1911, start: 19120730, end: 19261224 },
  { letter: 'S', kanji: '昭和', code: 3, offset: 1925, start: 19261225, end: 19890107 },
  { letter: 'H', kanji: '平成', code: 4, offset: 1988, start: 19890108, end: 20190430 },
  { letter: 'R', kanji: '令和', code: 5, offset: 2018, start: 20190501, end: 99991231 },
];

const INVALID_DATE: DateParseResult = Object.freeze({ ok: false, code: 'invalid-date' });
const OUTSIDE_ERA: DateParseResult = Object.freeze({ ok: false, code: 'outside-era' });

const PAD2: readonly string[] = Array.from({ length: 100 }, (_, n) => (n < 10 ? `0${n}` : `${n}`));

const CODE_0 = 48;
const CODE_DASH = 45;
const CODE_DOT = 46;
const CODE_SLASH = 47;
const CHAR_GAN = 0x5143; // 元
const CHAR_NEN = 0x5e74; // 年
const CHAR_GATSU = 0x6708; // 月
const CHAR_NICHI = 0x65e5; // 日

/** Read cursor of the parser; module-level so that reading numbers allocates nothing. */
let pos = 0;

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return isLeap(y) ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

function isCalendarDate(y: number, m: number, d: number): boolean {
  return y >= 1 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= daysInMonth(y, m);
}

function isoOf(y: number, m: number, d: number): string {
  const yy = y >= 1000 ? `${y}` : `${PAD2[Math.floor(y / 100)]}${PAD2[y % 100]}`;
  return `${yy}-${PAD2[m]}-${PAD2[d]}`;
}

function digitAt(s: string, i: number): number {
  const d = s.charCodeAt(i) - CODE_0;
  return d >= 0 && d <= 9 ? d : -1;
}

/** Reads `min`..`max` ASCII digits at `pos` (and no more), or returns -1. */
function readNumber(s: string, min: number, max: number): number {
  let n = 0;
  let len = 0;
  for (;;) {
    const d = digitAt(s, pos);
    if (d < 0) break;
    if (++len > max) return -1;
    n = n * 10 + d;
    pos++;
  }
  return len >= min ? n : -1;
}

function isSeparator(c: number): boolean {
  return c === CODE_DASH || c === CODE_SLASH || c === CODE_DOT;
}

function eraOfLetter(c: number): Era | undefined {
  switch (c | 0x20) {
    case 0x6d:
      return ERAS[0];
    case 0x74:
      return ERAS[1];
    case 0x73:
      return ERAS[2];
    case 0x68:
      return ERAS[3];
    case 0x72:
      return ERAS[4];
    default:
      return undefined;
  }
}

function eraOfKanji(s: string): Era | undefined {
  for (const era of ERAS) {
    if (s.startsWith(era.kanji)) return era;
  }
  return undefined;
}

function hasNonAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) return true;
  }
  return false;
}

/** Resolves an era year / month / day to an ISO date, checking the calendar first. */
function fromEra(era: Era, eraYear: number, m: number, d: number): DateParseResult {
  const y = era.offset + eraYear;
  if (!isCalendarDate(y, m, d)) return INVALID_DATE;
  const key = y * 10000 + m * 100 + d;
  if (key < era.start || key > era.end) return OUTSIDE_ERA;
  return { ok: true, value: isoOf(y, m, d) };
}

function fromGregorian(y: number, m: number, d: number): DateParseResult {
  return isCalendarDate(y, m, d) ? { ok: true, value: isoOf(y, m, d) } : INVALID_DATE;
}

/** `<year><sep><month><sep><day>` from `pos` to the end, one separator kind throughout. */
function parseSeparated(s: string, era: Era | undefined, year: number): DateParseResult {
  const sep = s.charCodeAt(pos);
  if (!isSeparator(sep)) return INVALID_DATE;
  pos++;
  const m = readNumber(s, 1, 2);
  if (m < 0 || s.charCodeAt(pos) !== sep) return INVALID_DATE;
  pos++;
  const d = readNumber(s, 1, 2);
  if (d < 0 || pos !== s.length) return INVALID_DATE;
  return era === undefined ? fromGregorian(year, m, d) : fromEra(era, year, m, d);
}

/** `<year>年<month>月<day>日` from `pos` to the end; `元` stands for era year 1. */
function parseKanjiYearMonthDay(s: string, era: Era | undefined): DateParseResult {
  let year: number;
  if (era !== undefined && s.charCodeAt(pos) === CHAR_GAN) {
    year = 1;
    pos++;
  } else {
    year = era === undefined ? readNumber(s, 4, 4) : readNumber(s, 1, 3);
    if (year < 0) return INVALID_DATE;
  }
  if (s.charCodeAt(pos) !== CHAR_NEN) return INVALID_DATE;
  pos++;
  const m = readNumber(s, 1, 2);
  if (m < 0 || s.charCodeAt(pos) !== CHAR_GATSU) return INVALID_DATE;
  pos++;
  const d = readNumber(s, 1, 2);
  if (d < 0 || s.charCodeAt(pos) !== CHAR_NICHI || pos + 1 !== s.length) return INVALID_DATE;
  return era === undefined ? fromGregorian(year, m, d) : fromEra(era, year, m, d);
}

function parseDigitsFirst(s: string): DateParseResult {
  pos = 0;
  const n = readNumber(s, 1, 8);
  if (n < 0) return INVALID_DATE;
  if (pos === s.length) {
    if (pos === 8) return fromGregorian(Math.floor(n / 10000), Math.floor(n / 100) % 100, n % 100);
    if (pos === 7) {
      const era = ERAS[Math.floor(n / 1000000) - 1];
      if (era === undefined) return INVALID_DATE;
      return fromEra(era, Math.floor(n / 10000) % 100, Math.floor(n / 100) % 100, n % 100);
    }
    return INVALID_DATE;
  }
  if (pos !== 4) return INVALID_DATE;
  if (s.charCodeAt(pos) === CHAR_NEN) {
    pos = 0;
    return parseKanjiYearMonthDay(s, undefined);
  }
  return parseSeparated(s, undefined, n);
}

/**
 * Reads a date as Japanese case systems write it and returns it as ISO `YYYY-MM-DD`.
 *
 * Accepted, after NFKC (full-width digits and letters, ㋿-style era ligatures) and trimming:
 * - Gregorian: `2025-04-01`, `2025/4/1`, `2025.4.1`, `20250401`, `2025年4月1日`;
 * - era letter M/T/S/H/R, any case: `R7.4.1`, `R07.04.01`, `r7/4/1`, `R7-4-1`;
 * - era kanji: `令和7年4月1日`, `令和元年5月1日`, `平成31年4月30日`;
 * - era code: one digit 1–5 (M,T,S,H,R) + YYMMDD, e.g. `5070401`.
 *
 * Separators must be the same within one date. A day that does not exist is
 * `invalid-date`; a real day outside the named era (H31.5.1, S64.1.8, R0.1.1, T15.12.25)
 * is `outside-era`. Era spans: Meiji 1868-01-25 (see the era table), Taisho 1912-07-30,
 * Showa 1926-12-25, Heisei 1989-01-08, Reiwa 2019-05-01, each ending the day before the
 * next begins.
 *
 * Source: GLOSSARY.md 和暦 (元号) row (letters and codes); era start dates from the
 * 元号 proclamations.
 * @example parseJapaneseDate('令和元年5月1日') // => { ok: true, value: '2019-05-01' }
 * @example parseJapaneseDate('H31.5.1') // => { ok: false, code: 'outside-era' }
 */
export function parseJapaneseDate(input: string): DateParseResult {
  const s = (hasNonAscii(input) ? input.normalize('NFKC') : input).trim();
  if (s.length === 0) return INVALID_DATE;
  if (isIsoDate(s)) return { ok: true, value: s };
  const first = s.charCodeAt(0);
  if (digitAt(s, 0) >= 0) return parseDigitsFirst(s);
  const letterEra = eraOfLetter(first);
  if (letterEra !== undefined) {
    pos = 1;
    let year: number;
    if (s.charCodeAt(pos) === CHAR_GAN) {
      year = 1;
      pos++;
    } else {
      year = readNumber(s, 1, 3);
      if (year < 0) return INVALID_DATE;
    }
    return parseSeparated(s, letterEra, year);
  }
  const kanjiEra = eraOfKanji(s);
  if (kanjiEra === undefined) return INVALID_DATE;
  pos = 2;
  return parseKanjiYearMonthDay(s, kanjiEra);
}

/**
 * True when `s` is exactly `YYYY-MM-DD` (ASCII digits, year 0001–9999) naming a day that
 * exists on the Gregorian calendar. No trimming, no normalisation.
 *
 * Source: DOMAIN.md "The public PMH municipality API" (`validFrom`/`validTo`/`dateOfBirth`
 * as ISO dates).
 * @example isIsoDate('2024-02-29') // => true
 * @example isIsoDate('2025-02-29') // => false
 */
export function isIsoDate(s: string): boolean {
  if (s.length !== 10 || s.charCodeAt(4) !== CODE_DASH || s.charCodeAt(7) !== CODE_DASH) return false;
  const y0 = digitAt(s, 0);
  const y1 = digitAt(s, 1);
  const y2 = digitAt(s, 2);
  const y3 = digitAt(s, 3);
  const m0 = digitAt(s, 5);
  const m1 = digitAt(s, 6);
  const d0 = digitAt(s, 8);
  const d1 = digitAt(s, 9);
  if ((y0 | y1 | y2 | y3 | m0 | m1 | d0 | d1) < 0) return false;
  return isCalendarDate(y0 * 1000 + y1 * 100 + y2 * 10 + y3, m0 * 10 + m1, d0 * 10 + d1);
}

/**
 * Writes an ISO date in a 和暦 style (for the simulators); the inverse of
 * {@link parseJapaneseDate}:
 * - `letter`: `R07.04.01` (era letter, two-digit era year, month, day);
 * - `kanji`: `令和7年4月1日`, with `元年` for era year 1;
 * - `code`: `5070401` (era digit + YYMMDD).
 *
 * Source: GLOSSARY.md 和暦 (元号) row.
 * @throws RangeError when `iso` is not a valid ISO date, lies before Meiji (1868-01-25),
 *   or (code style) the era year exceeds 99.
 * @example toEraString('2019-05-01', 'kanji') // => '令和元年5月1日'
 * @example toEraString('2025-04-01', 'code') // => '5070401'
 */
export function toEraString(iso: string, style: 'letter' | 'kanji' | 'code'): string {
  if (!isIsoDate(iso)) throw new RangeError(`toEraString: not an ISO date: ${JSON.stringify(iso)}`);
  const y = Number(iso.slice(0, 4));
  const m = Number(iso.slice(5, 7));
  const d = Number(iso.slice(8, 10));
  const key = y * 10000 + m * 100 + d;
  let era: Era | undefined;
  for (let i = ERAS.length - 1; i >= 0; i--) {
    const candidate = ERAS[i] as Era;
    if (key >= candidate.start) {
      era = candidate;
      break;
    }
  }
  if (era === undefined) throw new RangeError(`toEraString: ${iso} is before the Meiji era`);
  const eraYear = y - era.offset;
  switch (style) {
    case 'letter':
      return `${era.letter}${eraYear < 100 ? PAD2[eraYear] : eraYear}.${PAD2[m]}.${PAD2[d]}`;
    case 'kanji':
      return `${era.kanji}${eraYear === 1 ? '元' : eraYear}年${m}月${d}日`;
    case 'code':
      if (eraYear > 99) throw new RangeError(`toEraString: era year ${eraYear} does not fit the code style`);
      return `${era.code}${PAD2[eraYear]}${PAD2[m]}${PAD2[d]}`;
    default:
      throw new RangeError(`toEraString: unknown style ${JSON.stringify(style)}`);
  }
}
