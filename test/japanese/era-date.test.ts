import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isIsoDate, parseJapaneseDate, toEraString } from '../../src/japanese/index.js';

const DAY_MS = 86_400_000;

/** ISO dates between two ISO bounds (inclusive), built from UTC day numbers. */
const isoDateBetween = (from: string, to: string) =>
  fc
    .integer({ min: Date.parse(from) / DAY_MS, max: Date.parse(to) / DAY_MS })
    .map((day) => new Date(day * DAY_MS).toISOString().slice(0, 10));

const ok = (value: string) => ({ ok: true, value });
const invalidDate = { ok: false, code: 'invalid-date' };
const outsideEra = { ok: false, code: 'outside-era' };

describe('parseJapaneseDate: accepted forms', () => {
  it.each([
    ['2025-04-01', '2025-04-01'],
    ['2025/4/1', '2025-04-01'],
    ['2025/04/01', '2025-04-01'],
    ['2025.4.1', '2025-04-01'],
    ['20250401', '2025-04-01'],
    ['2025年4月1日', '2025-04-01'],
    ['R7.4.1', '2025-04-01'],
    ['R07.04.01', '2025-04-01'],
    ['r7.4.1', '2025-04-01'],
    ['R7/4/1', '2025-04-01'],
    ['R7-4-1', '2025-04-01'],
    ['H1.1.8', '1989-01-08'],
    ['s64.1.7', '1989-01-07'],
    ['令和7年4月1日', '2025-04-01'],
    ['令和元年5月1日', '2019-05-01'],
    ['平成31年4月30日', '2019-04-30'],
    ['昭和元年12月25日', '1926-12-25'],
    ['大正15年12月24日', '1926-12-24'],
    ['明治45年7月29日', '1912-07-29'],
    ['5070401', '2025-04-01'],
    ['4310430', '2019-04-30'],
    ['1450729', '1912-07-29'],
  ])('reads %s as %s', (input, iso) => {
    expect(parseJapaneseDate(input)).toEqual(ok(iso));
  });

  it('reads full-width digits and letters after NFKC', () => {
    expect(parseJapaneseDate('２０２５－０４－０１')).toEqual(ok('2025-04-01'));
    expect(parseJapaneseDate('Ｒ７．４．１')).toEqual(ok('2025-04-01'));
    expect(parseJapaneseDate('令和７年４月１日')).toEqual(ok('2025-04-01'));
    expect(parseJapaneseDate('５０７０４０１')).toEqual(ok('2025-04-01'));
  });

  it('reads the single-character era ligatures ㋿ and ㍻', () => {
    expect(parseJapaneseDate('㋿元年5月1日')).toEqual(ok('2019-05-01'));
    expect(parseJapaneseDate('㍻31年4月30日')).toEqual(ok('2019-04-30'));
  });

  it('trims surrounding ASCII and full-width whitespace', () => {
    expect(parseJapaneseDate('  2025-04-01\t')).toEqual(ok('2025-04-01'));
    expect(parseJapaneseDate('\u3000R7.4.1\u3000')).toEqual(ok('2025-04-01'));
  });

  it('returns an already-ISO input unchanged', () => {
    const input = '2024-02-29';
    const result = parseJapaneseDate(input);
    expect(result.ok && result.value).toBe(input);
  });
});

describe('parseJapaneseDate: refusals', () => {
  it.each([
    '2025-02-30',
    '2025-13-01',
    '2025-00-10',
    '2025-04-31',
    '20250230',
    'R7.2.29',
    '令和7年2月29日',
    '0000-01-01',
  ])('refuses the impossible date %s as invalid-date', (input) => {
    expect(parseJapaneseDate(input)).toEqual(invalidDate);
  });

  it.each([
    '',
    '   ',
    'abc',
    '2025-04',
    '2025/4-1',
    'R7.4/1',
    'R7.4.1.',
    'X7.4.1',
    'R.4.1',
    'R7年4月1日',
    '令和7年4月1',
    '平成 31年4月30日',
    '6070401',
    '0070401',
    '202504011',
    '250401',
    '12025-04-01',
  ])('refuses the unreadable %j as invalid-date', (input) => {
    expect(parseJapaneseDate(input)).toEqual(invalidDate);
  });

  it('refuses H31.5.1 because Heisei ended on 2019-04-30', () => {
    expect(parseJapaneseDate('H31.5.1')).toEqual(outsideEra);
    expect(parseJapaneseDate('平成31年5月1日')).toEqual(outsideEra);
    expect(parseJapaneseDate('4310501')).toEqual(outsideEra);
  });

  it('refuses S64.1.8 because Showa ended on 1989-01-07', () => {
    expect(parseJapaneseDate('S64.1.8')).toEqual(outsideEra);
  });

  it('refuses H1.1.7 because Heisei began on 1989-01-08', () => {
    expect(parseJapaneseDate('H1.1.7')).toEqual(outsideEra);
  });

  it('refuses R1.4.30 because Reiwa began on 2019-05-01', () => {
    expect(parseJapaneseDate('R1.4.30')).toEqual(outsideEra);
  });

  it('refuses R0.1.1 and 5000101 because era year 0 never exists', () => {
    expect(parseJapaneseDate('R0.1.1')).toEqual(outsideEra);
    expect(parseJapaneseDate('5000101')).toEqual(outsideEra);
    expect(parseJapaneseDate('H0.12.31')).toEqual(outsideEra);
  });

  it('refuses T15.12.25 because Showa began that day', () => {
    expect(parseJapaneseDate('T15.12.25')).toEqual(outsideEra);
  });

  it('refuses T1.7.29 and M45.7.30 because Taisho began on 1912-07-30', () => {
    expect(parseJapaneseDate('T1.7.29')).toEqual(outsideEra);
    expect(parseJapaneseDate('M45.7.30')).toEqual(outsideEra);
  });

  it('refuses M1.1.24 because Meiji is taken to begin on 1868-01-25', () => {
    expect(parseJapaneseDate('M1.1.24')).toEqual(outsideEra);
    expect(parseJapaneseDate('M1.1.25')).toEqual(ok('1868-01-25'));
  });

  it('reports invalid-date before outside-era when a date is both impossible and outside its era', () => {
    expect(parseJapaneseDate('H31.2.29')).toEqual(invalidDate);
    expect(parseJapaneseDate('R0.2.30')).toEqual(invalidDate);
  });
});

describe('toEraString', () => {
  it('writes each style', () => {
    expect(toEraString('2025-04-01', 'letter')).toBe('R07.04.01');
    expect(toEraString('2025-04-01', 'kanji')).toBe('令和7年4月1日');
    expect(toEraString('2025-04-01', 'code')).toBe('5070401');
  });

  it('writes 元年 for era year 1 in kanji style only', () => {
    expect(toEraString('2019-05-01', 'kanji')).toBe('令和元年5月1日');
    expect(toEraString('1989-01-08', 'kanji')).toBe('平成元年1月8日');
    expect(toEraString('2019-05-01', 'letter')).toBe('R01.05.01');
    expect(toEraString('2019-05-01', 'code')).toBe('5010501');
  });

  it('switches era on the first day of the new one', () => {
    expect(toEraString('2019-04-30', 'letter')).toBe('H31.04.30');
    expect(toEraString('1989-01-07', 'letter')).toBe('S64.01.07');
    expect(toEraString('1926-12-24', 'letter')).toBe('T15.12.24');
    expect(toEraString('1912-07-29', 'letter')).toBe('M45.07.29');
    expect(toEraString('1868-01-25', 'letter')).toBe('M01.01.25');
  });

  it('throws for dates before Meiji, non-ISO input and era years beyond the code style', () => {
    expect(() => toEraString('1868-01-24', 'letter')).toThrow(RangeError);
    expect(() => toEraString('R7.4.1', 'letter')).toThrow(RangeError);
    expect(() => toEraString('2025-02-30', 'kanji')).toThrow(RangeError);
    expect(() => toEraString('2118-01-01', 'code')).toThrow(RangeError);
    expect(toEraString('2118-01-01', 'letter')).toBe('R100.01.01');
  });

  it.each(['letter', 'kanji', 'code'] as const)(
    'round-trips through parseJapaneseDate in %s style (1873–2100)',
    (style) => {
      fc.assert(
        fc.property(isoDateBetween('1873-01-01', '2100-12-31'), (iso) => {
          expect(parseJapaneseDate(toEraString(iso, style))).toEqual(ok(iso));
        }),
        { numRuns: 3000 },
      );
    },
  );

  it.each(['letter', 'kanji', 'code'] as const)(
    'round-trips every day around each era change in %s style',
    (style) => {
      for (const boundary of ['1912-07-30', '1926-12-25', '1989-01-08', '2019-05-01']) {
        const day = Date.parse(boundary) / DAY_MS;
        for (let d = day - 40; d <= day + 40; d++) {
          const iso = new Date(d * DAY_MS).toISOString().slice(0, 10);
          expect(parseJapaneseDate(toEraString(iso, style))).toEqual(ok(iso));
        }
      }
    },
  );
});

describe('isIsoDate', () => {
  it('accepts real YYYY-MM-DD days, leap days included', () => {
    expect(isIsoDate('2024-02-29')).toBe(true);
    expect(isIsoDate('2000-02-29')).toBe(true);
    expect(isIsoDate('0001-01-01')).toBe(true);
  });

  it('refuses impossible days and other shapes', () => {
    for (const s of [
      '2025-02-29',
      '1900-02-29',
      '2025-04-31',
      '0000-01-01',
      '2025/04/01',
      '2025-4-1',
      ' 2025-04-01',
      '20250401',
      '２０２５-04-01',
    ]) {
      expect(isIsoDate(s)).toBe(false);
    }
  });

  it('agrees with the JavaScript calendar for any YYYY-MM-DD string', () => {
    const pad = (n: number, w: number) => String(n).padStart(w, '0');
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9999 }),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 32 }),
        (y, m, d) => {
          const s = `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`;
          const date = new Date(0);
          date.setUTCFullYear(y, m - 1, d);
          const real = m >= 1 && m <= 12 && d >= 1 && date.toISOString().slice(0, 10) === s;
          expect(isIsoDate(s)).toBe(real);
          expect(parseJapaneseDate(s)).toEqual(real ? ok(s) : invalidDate);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
