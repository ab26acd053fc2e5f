import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyBlockForm,
  convertKanjiNumerals,
  isBuildingOrRoomExtension,
  kanjiNumeralValue,
  PREFECTURE_COUNT,
  stripPrefecture,
} from '../../../src/intermediate/insurer/address.js';
import {
  type BasicInfo,
  crossCheck,
  ITAIJI_PAIR_COUNT,
  itaijiPairs,
  normaliseAddress,
  normaliseDate,
  normaliseKanaForMatch,
  normaliseName,
} from '../../../src/intermediate/insurer/cross-check.js';
import { crossCheckReasonSchema } from '../../../src/intermediate/insurer/insurer.schemas.js';

const HANAKO: BasicInfo = {
  name: '東京 花子',
  nameKana: 'トウキョウ ハナコ',
  address: '東京都新宿区西新宿2-8-1',
  dateOfBirth: '1985-01-02',
  sex: '2',
};

function verdictOf(result: ReturnType<typeof crossCheck>, field: string) {
  return result.fields.find((f) => f.field === field);
}

// ---------------------------------------------------------------------------------------
describe('normaliseName', () => {
  it('treats 東京 花子, 東京　花子 and 東京花子 as equal after whitespace', () => {
    for (const s of ['東京 花子', '東京　花子', ' 東京\t花子 ']) {
      expect(normaliseName(s)).toEqual({ value: '東京花子', applied: ['whitespace'] });
    }
    expect(normaliseName('東京花子')).toEqual({ value: '東京花子', applied: [] });
  });

  it('folds width with NFKC and reports it as kana-width', () => {
    expect(normaliseName('ｽﾐｽ ＪＯＨＮ')).toEqual({
      value: 'スミスJOHN',
      applied: ['whitespace', 'kana-width'],
    });
  });

  it.each([
    ['髙橋', '高橋'],
    ['山﨑', '山崎'],
    ['渡邊', '渡辺'],
    ['渡邉', '渡辺'],
    ['齋藤', '斎藤'],
    ['濵田', '浜田'],
    ['德川', '徳川'],
    ['廣田', '広田'],
    ['國男', '国男'],
    ['澤田', '沢田'],
    ['櫻井', '桜井'],
    ['龍之介', '竜之介'],
    ['𠮷田', '吉田'],
    ['嶋田', '島田'],
    ['濱口', '浜口'],
  ])('folds the 異体字 / 旧字体 in %s to %s (itaiji)', (variant, common) => {
    expect(normaliseName(variant)).toEqual({ value: common, applied: ['itaiji'] });
  });

  it('folds 齊 to 斉 (its 新字体), not to 斎: 齊藤 matches 斉藤', () => {
    expect(normaliseName('齊藤').value).toBe('斉藤');
    expect(normaliseName('齋藤').value).toBe('斎藤');
  });

  it('folds CJK compatibility ideographs and strips variation selectors (itaiji)', () => {
    expect(normaliseName(`大${String.fromCodePoint(0xfa10)}`)).toEqual({
      value: '大塚',
      applied: ['itaiji'],
    });
    expect(normaliseName('葛\u{E0100}城')).toEqual({ value: '葛城', applied: ['itaiji'] });
  });

  it('folds a Kangxi radical through NFKC and then the table (⿓ → 龍 → 竜)', () => {
    expect(normaliseName('⿓').value).toBe('竜');
  });

  it('embeds a table of at least 60 pairs whose common forms are not variants and are NFKC-stable', () => {
    const pairs = itaijiPairs();
    expect(ITAIJI_PAIR_COUNT).toBeGreaterThanOrEqual(60);
    expect(pairs).toHaveLength(ITAIJI_PAIR_COUNT);
    const variants = new Set(pairs.map(([v]) => v));
    for (const [variant, common] of pairs) {
      expect(variant).not.toBe(common);
      expect(variants.has(common)).toBe(false);
      expect(common.normalize('NFKC')).toBe(common);
      expect(normaliseName(variant).value).toBe(common);
    }
  });

  it('does not fold hiragana into katakana in a written name', () => {
    expect(normaliseName('さくら').value).not.toBe(normaliseName('サクラ').value);
  });
});

// ---------------------------------------------------------------------------------------
describe('normaliseKanaForMatch', () => {
  it('reports half-width katakana as kana-width', () => {
    expect(normaliseKanaForMatch('ﾊﾅｺ')).toEqual({ value: 'ハナコ', applied: ['kana-width'] });
  });

  it('reports hiragana as hiragana-katakana', () => {
    expect(normaliseKanaForMatch('はなこ')).toEqual({ value: 'ハナコ', applied: ['hiragana-katakana'] });
  });

  it('removes every space and reports whitespace', () => {
    expect(normaliseKanaForMatch('トウキョウ　ハナコ')).toEqual({
      value: 'トウキヨウハナコ',
      applied: ['whitespace', 'small-kana'],
    });
    expect(normaliseKanaForMatch('アイチ ハナコ')).toEqual({
      value: 'アイチハナコ',
      applied: ['whitespace'],
    });
  });

  it('writes small kana large as an explicit small-kana step', () => {
    expect(normaliseKanaForMatch('キョウコ')).toEqual({ value: 'キヨウコ', applied: ['small-kana'] });
    expect(normaliseKanaForMatch('ァィゥェォッャュョヮヵヶ').value).toBe('アイウエオツヤユヨワカケ');
    expect(normaliseKanaForMatch('ｷｮｳｺ')).toEqual({
      value: 'キヨウコ',
      applied: ['kana-width', 'small-kana'],
    });
    expect(normaliseKanaForMatch('きょうこ')).toEqual({
      value: 'キヨウコ',
      applied: ['hiragana-katakana', 'small-kana'],
    });
  });

  it('lets a legacy name without small kana match the modern spelling', () => {
    const result = crossCheck({ ...HANAKO, nameKana: 'トウキヨウ ハナコ' }, HANAKO);
    expect(verdictOf(result, 'nameKana')).toEqual({
      field: 'nameKana',
      verdict: 'match-after-normalisation',
      normalisations: ['whitespace', 'small-kana'],
    });
  });

  it('does not fold ヴ into ブ and keeps the long vowel mark ー', () => {
    expect(normaliseKanaForMatch('ヴィー').value).toBe('ヴイー');
    expect(normaliseKanaForMatch('ヴィー').value).not.toBe(normaliseKanaForMatch('ビー').value);
    expect(normaliseKanaForMatch('ﾕｰｺ').value).toBe('ユーコ');
    expect(normaliseKanaForMatch('ユーコ').value).not.toBe(normaliseKanaForMatch('ユウコ').value);
  });

  it('returns a plain katakana name unchanged with nothing applied', () => {
    expect(normaliseKanaForMatch('トウキヨウハナコ')).toEqual({ value: 'トウキヨウハナコ', applied: [] });
  });
});

// ---------------------------------------------------------------------------------------
describe('normaliseAddress', () => {
  it.each([
    ['二丁目', '2'],
    ['十二番', '12'],
    ['三十四号', '34'],
    ['百二番地', '102'],
    ['一二三番地', '123'],
    ['二〇番', '20'],
    ['千九百八十五番', '1985'],
  ])('writes the kanji numerals of %s as %s (kanji-numerals)', (input, expected) => {
    expect(normaliseAddress(input).value).toBe(expected);
    expect(normaliseAddress(input).applied).toContain('kanji-numerals');
  });

  it('reads 〇 digit by digit and 十/百/千 positionally', () => {
    expect(kanjiNumeralValue('一〇一')).toBe('101');
    expect(kanjiNumeralValue('十')).toBe('10');
    expect(kanjiNumeralValue('二十')).toBe('20');
    expect(kanjiNumeralValue('三百五')).toBe('305');
  });

  it('leaves numerals inside place and building names alone', () => {
    for (const s of [
      '千代田区',
      '四谷',
      '三鷹市',
      '八王子市',
      '九段北',
      '六本木',
      '都庁第一本庁舎',
      '十日町市',
    ]) {
      expect(convertKanjiNumerals(s)).toBe(s);
    }
    expect(normaliseAddress('千代田区千代田一丁目一番一号').value).toBe('千代田区千代田1-1-1');
    expect(normaliseAddress('八王子市元本郷町三丁目二十四番一号').value).toBe('八王子市元本郷町3-24-1');
  });

  it('does not read the 三 of a building name written after 番地 as a number', () => {
    expect(normaliseAddress('一番地三井ビル').value).toBe('1三井ビル');
    expect(normaliseAddress('八番地の一').value).toBe('8-1');
  });

  it.each([
    '西新宿2丁目8番1号',
    '西新宿2丁目8-1',
    '西新宿2-8-1',
    '西新宿2ー8ー1',
    '西新宿2－8－1',
    '西新宿2‐8‐1',
    '西新宿2−8−1',
    '西新宿2–8–1',
    '西新宿2—8—1',
    '西新宿２丁目８番１号',
    '西新宿二丁目八番一号',
    '西新宿 二丁目 八番 一号',
  ])('writes %s as 西新宿2-8-1 (address-form)', (input) => {
    const n = normaliseAddress(input);
    expect(n.value).toBe('西新宿2-8-1');
    if (input !== '西新宿2-8-1') expect(n.applied.length).toBeGreaterThan(0);
  });

  it('reports only the steps that changed something', () => {
    expect(normaliseAddress('西新宿2-8-1').applied).toEqual([]);
    expect(normaliseAddress('西新宿2丁目8-1').applied).toEqual(['address-form']);
    expect(normaliseAddress('西新宿２－８－１').applied).toEqual(['kana-width']);
    expect(normaliseAddress('西新宿 2-8-1').applied).toEqual(['whitespace']);
    expect(normaliseAddress('西新宿　二丁目８番１号').applied).toEqual([
      'whitespace',
      'kana-width',
      'address-form',
      'kanji-numerals',
    ]);
  });

  it('writes whitespace between two numbers as a separator (a room after a space)', () => {
    expect(normaliseAddress('西新宿2-8-1 101').value).toBe('西新宿2-8-1-101');
  });

  it('folds ヶ / が / ヵ between kanji to ケ (霞ヶ関 = 霞が関 = 霞ケ関)', () => {
    for (const s of ['霞ヶ関', '霞が関', '霞ヵ関', '霞ケ関'])
      expect(normaliseAddress(s).value).toBe('霞ケ関');
    expect(normaliseAddress('霞が関').applied).toEqual(['address-form']);
  });

  it('folds 異体字 in place names too (髙田馬場 = 高田馬場)', () => {
    expect(normaliseAddress('髙田馬場').value).toBe('高田馬場');
  });

  it('applyBlockForm and stripPrefecture do their one step', () => {
    expect(applyBlockForm('1丁目2番地3')).toBe('1-2-3');
    expect(applyBlockForm('123番地の4')).toBe('123-4');
    expect(stripPrefecture('東京都新宿区')).toBe('新宿区');
    expect(stripPrefecture('鹿児島県鹿児島市')).toBe('鹿児島市');
    expect(stripPrefecture('新宿区')).toBe('新宿区');
    expect(PREFECTURE_COUNT).toBe(47);
  });

  it('treats a building or room on one side as an extension only at a block boundary', () => {
    expect(isBuildingOrRoomExtension('新宿区西新宿2-8-1', '新宿区西新宿2-8-1都庁第一本庁舎')).toBe(true);
    expect(isBuildingOrRoomExtension('新宿区西新宿2-8-1-101', '新宿区西新宿2-8-1')).toBe(true);
    expect(isBuildingOrRoomExtension('新宿区西新宿2-8-1', '新宿区西新宿2-8-10')).toBe(false);
    expect(isBuildingOrRoomExtension('新宿区西新宿2-8', '新宿区西新宿2-8-1')).toBe(false);
    expect(isBuildingOrRoomExtension('新宿区西新宿', '新宿区西新宿2-8-1')).toBe(false);
    expect(isBuildingOrRoomExtension('大字北123', '大字北123-4')).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------
describe('normaliseDate', () => {
  it.each([
    ['1985-01-02', '1985-01-02', []],
    ['昭和60年1月2日', '1985-01-02', ['era-date']],
    ['S60.1.2', '1985-01-02', ['era-date']],
    ['3600102', '1985-01-02', ['era-date']],
    ['1985/1/2', '1985-01-02', ['era-date']],
    ['１９８５－０１－０２', '1985-01-02', ['era-date']],
    [' 1985-01-02 ', '1985-01-02', ['whitespace']],
  ])('reads %s as %s', (input, value, applied) => {
    expect(normaliseDate(input)).toEqual({ value, applied });
  });

  it('makes an unreadable or impossible date empty, so the field is missing', () => {
    expect(normaliseDate('2025-02-30').value).toBe('');
    expect(normaliseDate('H31.5.1').value).toBe('');
    expect(normaliseDate('unknown').value).toBe('');
    const result = crossCheck(
      { ...HANAKO, dateOfBirth: '1985-02-30' },
      { ...HANAKO, dateOfBirth: '1985-02-30' },
    );
    expect(result.passed).toBe(false);
    expect(result.reasons).toEqual([{ field: 'dateOfBirth', verdict: 'missing' }]);
  });
});

// ---------------------------------------------------------------------------------------
describe('crossCheck verdicts', () => {
  it('gives match for every field equal as given, in field order', () => {
    const result = crossCheck(HANAKO, { ...HANAKO });
    expect(result).toEqual({
      passed: true,
      fields: [
        { field: 'name', verdict: 'match', normalisations: [] },
        { field: 'nameKana', verdict: 'match', normalisations: [] },
        { field: 'address', verdict: 'match', normalisations: [] },
        { field: 'dateOfBirth', verdict: 'match', normalisations: [] },
        { field: 'sex', verdict: 'match', normalisations: [] },
      ],
      reasons: [],
      warnings: [],
    });
  });

  it('gives match-after-normalisation with the steps used on either side', () => {
    const submitted: BasicInfo = {
      name: '髙橋　花子',
      nameKana: 'ﾀｶﾊｼ ﾊﾅｺ',
      address: '新宿区西新宿二丁目８番１号　都庁第一本庁舎',
      dateOfBirth: 'S60.1.2',
      sex: '2',
    };
    const registered: BasicInfo = { ...HANAKO, name: '高橋 花子', nameKana: 'タカハシ ハナコ' };
    const result = crossCheck(submitted, registered);
    expect(result.passed).toBe(true);
    expect(result.warnings).toEqual([]);
    expect(result.fields).toEqual([
      { field: 'name', verdict: 'match-after-normalisation', normalisations: ['whitespace', 'itaiji'] },
      {
        field: 'nameKana',
        verdict: 'match-after-normalisation',
        normalisations: ['whitespace', 'kana-width'],
      },
      {
        field: 'address',
        verdict: 'match-after-normalisation',
        normalisations: ['whitespace', 'kana-width', 'address-form', 'kanji-numerals'],
      },
      { field: 'dateOfBirth', verdict: 'match-after-normalisation', normalisations: ['era-date'] },
      { field: 'sex', verdict: 'match', normalisations: [] },
    ]);
  });

  it('counts a prefecture omitted on one side as match-after-normalisation (address-form)', () => {
    const result = crossCheck({ ...HANAKO, address: '新宿区西新宿2-8-1' }, HANAKO);
    expect(verdictOf(result, 'address')).toEqual({
      field: 'address',
      verdict: 'match-after-normalisation',
      normalisations: ['address-form'],
    });
  });

  it('never matches two different prefectures', () => {
    const result = crossCheck({ ...HANAKO, address: '大阪府新宿区西新宿2-8-1' }, HANAKO);
    expect(verdictOf(result, 'address')?.verdict).toBe('mismatch');
  });

  it('counts a building or room added on one side as match-after-normalisation (address-form)', () => {
    for (const address of [
      '東京都新宿区西新宿2-8-1 都庁第一本庁舎',
      '東京都新宿区西新宿2-8-1-101',
      '新宿区西新宿2-8-1 101号室',
    ]) {
      const result = crossCheck({ ...HANAKO, address }, HANAKO);
      expect(verdictOf(result, 'address')?.verdict).toBe('match-after-normalisation');
      expect(verdictOf(result, 'address')?.normalisations).toContain('address-form');
    }
  });

  it('does not count a neighbouring block as a building extension', () => {
    for (const address of ['東京都新宿区西新宿2-8-10', '東京都新宿区西新宿2-8', '東京都新宿区西新宿2-8-2']) {
      const result = crossCheck({ ...HANAKO, address }, HANAKO);
      expect(verdictOf(result, 'address')?.verdict).toBe('mismatch');
    }
  });

  it('gives missing when either side is empty after normalisation', () => {
    const result = crossCheck({ ...HANAKO, name: '　', address: '' }, HANAKO);
    expect(verdictOf(result, 'name')?.verdict).toBe('missing');
    expect(verdictOf(result, 'address')?.verdict).toBe('missing');
    const reverse = crossCheck(HANAKO, { ...HANAKO, sex: '' });
    expect(verdictOf(reverse, 'sex')?.verdict).toBe('missing');
  });

  it('compares sex as the exact code only', () => {
    expect(verdictOf(crossCheck({ ...HANAKO, sex: '1' }, HANAKO), 'sex')?.verdict).toBe('mismatch');
    expect(verdictOf(crossCheck({ ...HANAKO, sex: '２' }, HANAKO), 'sex')?.verdict).toBe('mismatch');
  });

  it('gives mismatch for a name with family and given name swapped (no reordering)', () => {
    const result = crossCheck({ ...HANAKO, name: '花子 東京', nameKana: 'ハナコ トウキョウ' }, HANAKO);
    expect(verdictOf(result, 'name')?.verdict).toBe('mismatch');
    expect(verdictOf(result, 'nameKana')?.verdict).toBe('mismatch');
    expect(result.passed).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------
describe('crossCheck decision', () => {
  it.each([
    ['day', '1985-01-03'],
    ['month', '1985-02-02'],
    ['year', '1986-01-02'],
  ])('fails when the birth date differs only in the %s (PEERS.md trap)', (_component, dateOfBirth) => {
    const result = crossCheck({ ...HANAKO, dateOfBirth }, HANAKO);
    expect(result.passed).toBe(false);
    expect(result.reasons).toEqual([{ field: 'dateOfBirth', verdict: 'mismatch' }]);
  });

  it('fails when a 和暦 birth date names another day', () => {
    const result = crossCheck({ ...HANAKO, dateOfBirth: 'S60.1.3' }, HANAKO);
    expect(result.reasons).toEqual([{ field: 'dateOfBirth', verdict: 'mismatch' }]);
  });

  it('passes an empty name only through a matching kana, and warns about the name (PEERS.md trap)', () => {
    const result = crossCheck({ ...HANAKO, name: '' }, HANAKO);
    expect(result.passed).toBe(true);
    expect(result.reasons).toEqual([]);
    expect(result.warnings).toEqual([{ field: 'name', verdict: 'missing' }]);
    const noKana = crossCheck({ ...HANAKO, name: '', nameKana: 'トウキョウ ユキコ' }, HANAKO);
    expect(noKana.passed).toBe(false);
  });

  it('passes an empty kana through a matching name, and warns about the kana', () => {
    const result = crossCheck(HANAKO, { ...HANAKO, nameKana: '' });
    expect(result.passed).toBe(true);
    expect(result.warnings).toEqual([{ field: 'nameKana', verdict: 'missing' }]);
  });

  it('fails with both reasons when name and kana are both empty', () => {
    const result = crossCheck({ ...HANAKO, name: '', nameKana: '' }, HANAKO);
    expect(result.passed).toBe(false);
    expect(result.reasons).toEqual([
      { field: 'name', verdict: 'missing' },
      { field: 'nameKana', verdict: 'missing' },
    ]);
  });

  it('fails with both reasons when name and kana both mismatch', () => {
    const result = crossCheck({ ...HANAKO, name: '東京 雪子', nameKana: 'トウキョウ ユキコ' }, HANAKO);
    expect(result.reasons).toEqual([
      { field: 'name', verdict: 'mismatch' },
      { field: 'nameKana', verdict: 'mismatch' },
    ]);
  });

  it('fails on a sex that does not match or is missing', () => {
    expect(crossCheck({ ...HANAKO, sex: '1' }, HANAKO).reasons).toEqual([
      { field: 'sex', verdict: 'mismatch' },
    ]);
    expect(crossCheck({ ...HANAKO, sex: '' }, HANAKO).reasons).toEqual([
      { field: 'sex', verdict: 'missing' },
    ]);
  });

  it('never fails on the address alone: a mismatching or missing address is a warning', () => {
    const moved = crossCheck({ ...HANAKO, address: '大阪府大阪市北区中之島1-3-20' }, HANAKO);
    expect(moved.passed).toBe(true);
    expect(moved.reasons).toEqual([]);
    expect(moved.warnings).toEqual([{ field: 'address', verdict: 'mismatch' }]);
    const none = crossCheck({ ...HANAKO, address: '' }, HANAKO);
    expect(none.passed).toBe(true);
    expect(none.warnings).toEqual([{ field: 'address', verdict: 'missing' }]);
  });

  it('lists every failing field, and keeps address warnings on a failed check', () => {
    const result = crossCheck(
      { name: '', nameKana: '', address: '', dateOfBirth: '1990-01-01', sex: '1' },
      HANAKO,
    );
    expect(result.passed).toBe(false);
    expect(result.reasons.map((r) => r.field)).toEqual(['name', 'nameKana', 'dateOfBirth', 'sex']);
    expect(result.warnings).toEqual([{ field: 'address', verdict: 'missing' }]);
  });

  it('gives reasons and warnings that fit the wire contract (field + verdict, no value)', () => {
    const result = crossCheck({ name: '', nameKana: '', address: '', dateOfBirth: '', sex: '' }, HANAKO);
    expect(result.reasons.length).toBeLessThanOrEqual(5);
    for (const r of [...result.reasons, ...result.warnings])
      expect(crossCheckReasonSchema.parse(r)).toEqual(r);
  });
});

// ---------------------------------------------------------------------------------------
// Properties

const KATAKANA = [
  ...'アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲン',
];
const KATAKANA_ALL = [
  ...KATAKANA,
  ...'ガギグゲゴザジズゼゾダヂヅデドバビブベボパピプペポヴァィゥェォッャュョー',
];
const KANJI = [
  ...'東京花子山田太郎高橋斎藤渡辺佐藤鈴木田中伊藤中村小林加藤吉田山本松本井上木村林清水崎島浜広国沢桜竜',
];
const WARDS = ['新宿区西新宿', '千代田区千代田', '八王子市元本郷町', '三鷹市下連雀', '世田谷区北沢'];

const kanaWord = fc
  .array(fc.constantFrom(...KATAKANA_ALL), { minLength: 1, maxLength: 6 })
  .map((a) => a.join(''));
const kanaName = fc.tuple(kanaWord, kanaWord).map(([family, given]) => `${family} ${given}`);
const kanjiName = fc
  .tuple(
    fc.array(fc.constantFrom(...KANJI), { minLength: 1, maxLength: 3 }),
    fc.array(fc.constantFrom(...KANJI), { minLength: 1, maxLength: 3 }),
  )
  .map(([f, g]) => `${f.join('')} ${g.join('')}`);
const isoDate = fc
  .date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2025-12-31T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString().slice(0, 10));
const address = fc
  .tuple(
    fc.constantFrom(...WARDS),
    fc.integer({ min: 1, max: 9 }),
    fc.integer({ min: 1, max: 40 }),
    fc.integer({ min: 1, max: 30 }),
  )
  .map(([ward, a, b, c]) => `東京都${ward}${a}-${b}-${c}`);
const basicInfo: fc.Arbitrary<BasicInfo> = fc.record({
  name: kanjiName,
  nameKana: kanaName,
  address,
  dateOfBirth: isoDate,
  sex: fc.constantFrom('1', '2'),
});

/** Half-width katakana for each full-width one that has one (voiced: base + ﾞ / ﾟ). */
const HALF_WIDTH: ReadonlyMap<string, string> = (() => {
  const map = new Map<string, string>();
  for (let cp = 0xff66; cp <= 0xff9d; cp++) {
    const half = String.fromCodePoint(cp);
    map.set(half.normalize('NFKC'), half);
  }
  for (const full of KATAKANA_ALL) {
    if (map.has(full)) continue;
    const [base, mark] = [...full.normalize('NFD')];
    const halfBase = base === undefined ? undefined : map.get(base);
    if (halfBase === undefined) continue;
    if (mark === '\u3099') map.set(full, `${halfBase}ﾞ`);
    if (mark === '\u309a') map.set(full, `${halfBase}ﾟ`);
  }
  return map;
})();

function toHalfWidth(s: string): string {
  return [...s].map((c) => HALF_WIDTH.get(c) ?? c).join('');
}
function toHiragana(s: string): string {
  return [...s]
    .map((c) => {
      const cp = c.codePointAt(0) ?? 0;
      return cp >= 0x30a1 && cp <= 0x30f6 ? String.fromCodePoint(cp - 0x60) : c;
    })
    .join('');
}
function respace(s: string): string {
  return ` ${s.replace(' ', '\u3000\u3000')} `;
}

/** Characters that exercise every step of every normaliser. */
const NASTY = [
  ...'あいうかがぱゔゝゞゟぁゕゖっゃアイウカガパヴヽヾヷーァッャヵヶㇰｱｶﾊｰｯｬﾞﾟ',
  ...'〇一二三四五六七八九十百千丁目番地号条線割のノケが関霞第井',
  ...'髙﨑邉邊齋齊濵德廣國澤櫻龍⿓號參萬',
  String.fromCodePoint(0xfa10),
  String.fromCodePoint(0x20bb7),
  '\u{E0100}',
  '\uFE00',
  ...'-ー－‐−–—ｰ',
  ...'0129０１２',
  '\u3099',
  '\u309a',
  '\u309b',
  '\u309c',
  '\u00a8',
  ' ',
  '\t',
  '\u3000',
  '\u00a0',
  ...'東京都新宿区Aa１Ａ',
];
const nastyText = fc.array(fc.constantFrom(...NASTY), { maxLength: 24 }).map((a) => a.join(''));
const anyText = fc.string({ unit: 'binary', maxLength: 24 });

describe('properties', () => {
  it.each([
    ['normaliseName', normaliseName],
    ['normaliseKanaForMatch', normaliseKanaForMatch],
    ['normaliseAddress', normaliseAddress],
    ['normaliseDate', normaliseDate],
  ] as const)('%s is idempotent', (_name, normalise) => {
    fc.assert(
      fc.property(fc.oneof(nastyText, anyText), (s) => {
        const once = normalise(s).value;
        const twice = normalise(once);
        expect(twice.value).toBe(once);
        expect(twice.applied).toEqual([]);
      }),
      { numRuns: 2000 },
    );
  });

  it('normaliseDate is idempotent on 和暦 and other date spellings', () => {
    const spelled = fc.tuple(isoDate, fc.constantFrom('/', '.', '年')).map(([iso, sep]) => {
      const [y, m, d] = iso.split('-');
      return sep === '年' ? `${y}年${Number(m)}月${Number(d)}日` : `${y}${sep}${m}${sep}${d}`;
    });
    fc.assert(
      fc.property(spelled, (s) => {
        const once = normaliseDate(s).value;
        expect(normaliseDate(once)).toEqual({ value: once, applied: [] });
      }),
    );
  });

  it('crossCheck(x, x) passes with every verdict match', () => {
    fc.assert(
      fc.property(basicInfo, (x) => {
        const result = crossCheck(x, { ...x });
        expect(result.passed).toBe(true);
        expect(result.fields.map((f) => f.verdict)).toEqual(['match', 'match', 'match', 'match', 'match']);
        expect(result.reasons).toEqual([]);
        expect(result.warnings).toEqual([]);
      }),
    );
  });

  it('a half-width, hiragana or re-spaced kana name gives match-after-normalisation', () => {
    const variant = fc.constantFrom(toHalfWidth, toHiragana, respace, (s: string) => respace(toHalfWidth(s)));
    fc.assert(
      fc.property(basicInfo, variant, (x, change) => {
        const changed = change(x.nameKana);
        fc.pre(changed !== x.nameKana);
        const result = crossCheck({ ...x, nameKana: changed }, x);
        expect(verdictOf(result, 'nameKana')?.verdict).toBe('match-after-normalisation');
        expect(result.passed).toBe(true);
      }),
    );
  });

  it('changing the birth date by any non-zero number of days fails with reason dateOfBirth', () => {
    const days = fc.integer({ min: -40000, max: 40000 }).filter((n) => n !== 0);
    fc.assert(
      fc.property(basicInfo, days, (x, delta) => {
        const shifted = new Date(Date.parse(`${x.dateOfBirth}T00:00:00Z`) + delta * 86_400_000);
        fc.pre(shifted.getUTCFullYear() >= 1000 && shifted.getUTCFullYear() <= 9999);
        const result = crossCheck({ ...x, dateOfBirth: shifted.toISOString().slice(0, 10) }, x);
        expect(result.passed).toBe(false);
        expect(result.reasons).toEqual([{ field: 'dateOfBirth', verdict: 'mismatch' }]);
      }),
    );
  });

  it('crossCheck is symmetric in its decision and in every verdict', () => {
    const field = (base: fc.Arbitrary<string>) => fc.oneof(base, nastyText, fc.constant(''));
    const info: fc.Arbitrary<BasicInfo> = fc.record({
      name: field(kanjiName),
      nameKana: field(kanaName),
      address: field(address),
      dateOfBirth: field(isoDate),
      sex: fc.constantFrom('1', '2', ''),
    });
    const pair = fc.oneof(
      fc.tuple(info, info),
      fc
        .tuple(basicInfo, fc.constantFrom(toHalfWidth, toHiragana, respace))
        .map(([x, f]): [BasicInfo, BasicInfo] => [
          x,
          { ...x, nameKana: f(x.nameKana), name: respace(x.name) },
        ]),
    );
    fc.assert(
      fc.property(pair, ([a, b]) => {
        const ab = crossCheck(a, b);
        const ba = crossCheck(b, a);
        expect(ab.passed).toBe(ba.passed);
        expect(ab.fields).toEqual(ba.fields);
        expect(ab.reasons).toEqual(ba.reasons);
        expect(ab.warnings).toEqual(ba.warnings);
      }),
      { numRuns: 1000 },
    );
  });
});

// ---------------------------------------------------------------------------------------
