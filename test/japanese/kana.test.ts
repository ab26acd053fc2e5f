import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isKatakanaName, normaliseKana, normaliseWhitespace } from '../../src/japanese/index.js';

/** Characters that exercise every step of the kana pipeline. */
const KANA_ALPHABET = [
  ...'あいうえおかがぱわをんゔゝゞゟぁゕゖ',
  ...'アイウエオカガパワヲンヴヽヾヷー・',
  ...'ｱｲｳｶﾊﾜｦﾝｰ･ﾞﾟ',
  '\u3099',
  '\u309a',
  '\u309b',
  '\u309c',
  '\u0323',
  '\u0334',
  ' ',
  '\t',
  '\u3000',
  '\u00a0',
  ...'Aa1１Ａ愛知花子',
];

const kanaText = fc.array(fc.constantFrom(...KANA_ALPHABET), { maxLength: 24 }).map((a) => a.join(''));
const anyText = fc.string({ unit: 'binary', maxLength: 24 });
const spacesText = fc
  .array(fc.constantFrom(' ', '\t', '\u3000', 'a', '愛', 'ア'), { maxLength: 24 })
  .map((a) => a.join(''));

const hasBadSpacing = (s: string) =>
  s.includes('  ') || s.startsWith(' ') || s.endsWith(' ') || /[\t\u3000]/.test(s);

describe('normaliseKana', () => {
  it('turns half-width ｱｲﾁ ﾊﾅｺ into アイチ ハナコ', () => {
    expect(normaliseKana('ｱｲﾁ ﾊﾅｺ')).toBe('アイチ ハナコ');
  });

  it('composes half-width ﾊﾟ into パ and ｶﾞ into ガ', () => {
    expect(normaliseKana('ﾊﾟ')).toBe('パ');
    expect(normaliseKana('ｶﾞ')).toBe('ガ');
  });

  it('turns hiragana あいち　はなこ into アイチ ハナコ, keeping the full-width space as one space', () => {
    expect(normaliseKana('あいち　はなこ')).toBe('アイチ ハナコ');
  });

  it('composes spacing voiced marks ゛゜ with the kana before them instead of leaving a space', () => {
    expect(normaliseKana('か\u309b')).toBe('ガ');
    expect(normaliseKana('ﾊ\u309c')).toBe('パ');
    expect(normaliseKana('う\u309b')).toBe('ヴ');
  });

  it('maps わ゛ to ヷ, which exists only in katakana', () => {
    expect(normaliseKana('わ\u309b')).toBe('ヷ');
  });

  it('expands the ligature ヿ into コト under NFKC', () => {
    expect(normaliseKana('ヿ')).toBe('コト');
  });

  it('maps the hiragana iteration marks ゝゞ to ヽヾ', () => {
    expect(normaliseKana('さゝき')).toBe('サヽキ');
    expect(normaliseKana('みすゞ')).toBe('ミスヾ');
  });

  it('collapses runs of spaces, tabs and full-width spaces and trims both ends', () => {
    expect(normaliseKana('\u3000 アイチ \t\u3000ハナコ\t ')).toBe('アイチ ハナコ');
  });

  it('never deletes the space between family and given name', () => {
    expect(normaliseKana('アイチ ハナコ')).toBe('アイチ ハナコ');
    expect(normaliseKana('ｱｲﾁ\tﾊﾅｺ')).toBe('アイチ ハナコ');
  });

  it('returns an already normalised name as the same string', () => {
    const name = 'アイチ ハナコ';
    expect(normaliseKana(name)).toBe(name);
  });

  it('is idempotent on kana-like text', () => {
    fc.assert(
      fc.property(kanaText, (s) => {
        const once = normaliseKana(s);
        expect(normaliseKana(once)).toBe(once);
      }),
      { numRuns: 3000 },
    );
  });

  it('is idempotent on arbitrary UTF-16 text', () => {
    fc.assert(
      fc.property(anyText, (s) => {
        const once = normaliseKana(s);
        expect(normaliseKana(once)).toBe(once);
      }),
      { numRuns: 3000 },
    );
  });

  it('never produces two consecutive spaces, a tab, a full-width space or a leading/trailing space', () => {
    fc.assert(
      fc.property(fc.oneof(kanaText, anyText), (s) => {
        expect(hasBadSpacing(normaliseKana(s))).toBe(false);
      }),
      { numRuns: 3000 },
    );
  });

  it('leaves no hiragana behind', () => {
    fc.assert(
      fc.property(kanaText, (s) => {
        expect(normaliseKana(s)).not.toMatch(/[\u3041-\u3096\u309d\u309e]/);
      }),
    );
  });
});

describe('isKatakanaName', () => {
  it.each([
    'アイチハナコ',
    'アイチ ハナコ',
    'ｱｲﾁ ﾊﾅｺ',
    'あいち　はなこ',
    'ヴァン・ゴッホ',
    'サヽキ',
    'ヷ',
    'ヶ',
    ' アイチ ',
  ])('accepts %j', (s) => {
    expect(isKatakanaName(s)).toBe(true);
  });

  it.each(['', ' ', '\u3000\t', '愛知花子', 'アイチ1', 'Aichi', 'アイチ・ハナコ様', 'ア\u0323', 'ア〜'])(
    'refuses %j',
    (s) => {
      expect(isKatakanaName(s)).toBe(false);
    },
  );

  it('refuses a lone combining voiced mark that could not be composed', () => {
    expect(isKatakanaName('ン\u3099')).toBe(false);
  });
});

describe('normaliseWhitespace', () => {
  it('collapses runs of ASCII spaces, tabs and U+3000 into one space and trims', () => {
    expect(normaliseWhitespace('\u3000愛知県\t\tB市  B町1-1-1\u3000Bマンション101号室 ')).toBe(
      '愛知県 B市 B町1-1-1 Bマンション101号室',
    );
  });

  it('changes nothing else: no NFKC, no kana conversion', () => {
    expect(normaliseWhitespace('ｱｲﾁ あいち １２３')).toBe('ｱｲﾁ あいち １２３');
  });

  it('returns a clean string as the same string, and the empty string for whitespace only', () => {
    const s = '愛知 花子';
    expect(normaliseWhitespace(s)).toBe(s);
    expect(normaliseWhitespace(' \t\u3000 ')).toBe('');
    expect(normaliseWhitespace('')).toBe('');
  });

  it('is idempotent, leaves no bad spacing and keeps every non-space character in order', () => {
    const strip = (s: string) => s.replace(/[ \t\u3000]/g, '');
    fc.assert(
      fc.property(fc.oneof(spacesText, anyText), (s) => {
        const once = normaliseWhitespace(s);
        expect(normaliseWhitespace(once)).toBe(once);
        expect(hasBadSpacing(once)).toBe(false);
        expect(strip(once)).toBe(strip(s));
      }),
      { numRuns: 3000 },
    );
  });

  it('keeps a single space wherever the input had whitespace between two words', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: fc.constantFrom('ア', 'a', '愛'), minLength: 1 }), {
          minLength: 1,
          maxLength: 5,
        }),
        fc.array(fc.string({ unit: fc.constantFrom(' ', '\t', '\u3000'), minLength: 1 }), { maxLength: 6 }),
        (words, gaps) => {
          const joined = words.map((w, i) => (i === 0 ? w : `${gaps[i] ?? ' '}${w}`)).join('');
          expect(normaliseWhitespace(`${gaps[0] ?? ''}${joined}${gaps[0] ?? ''}`)).toBe(words.join(' '));
        },
      ),
    );
  });
});
