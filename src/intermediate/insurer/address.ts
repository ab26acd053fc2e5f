/**
 * Address (住所) rules of the cross-check (突合): kanji numerals in block numbers, the
 * `N丁目N番N号` / `N丁目N-N` / `N-N-N` forms, ケ/ヶ/が in place names, the prefecture
 * prefix, and the "building or room added on one side" rule. Pure string functions; the
 * pipeline that runs them (with whitespace, width and 異体字 steps) is `normaliseAddress`
 * in `cross-check.ts`. Every table and regular expression is built once, at module load.
 *
 * Source: DOMAIN.md "Flows" step 2 (Number ㉗: basic info incl. address is cross-checked
 * as an error check); docs/CROSS-CHECK.md (the rules, with examples).
 */

/** Kanji digits (〇 and 一–九) to their value; -1 elsewhere. Indexed by code unit. */
const KANJI_DIGIT = new Int8Array(0x10000).fill(-1);
for (const [i, ch] of [...'〇一二三四五六七八九'].entries()) KANJI_DIGIT[ch.charCodeAt(0)] = i;
/** 十 / 百 / 千 to their multiplier; 0 elsewhere. */
const KANJI_UNIT: ReadonlyMap<number, number> = new Map([
  [0x5341, 10], // 十
  [0x767e, 100], // 百
  [0x5343, 1000], // 千
]);

/** A maximal run of kanji numerals. */
const KANJI_NUMERAL_RUN = /[〇一二三四五六七八九十百千]+/g;
const HAS_KANJI_NUMERAL = /[〇一二三四五六七八九十百千]/;

/** Dash-like characters written between block numbers (after NFKC: － is '-', ｰ is ー). */
const HYPHENS = '\\-ー‐‑‒–—―−─━⁃˗';
const HYPHEN_SET: ReadonlySet<number> = new Set([...'-ー‐‑‒–—―−─━⁃˗'].map((c) => c.charCodeAt(0)));

const CODE_0 = 0x30;
const CODE_9 = 0x39;
const CH_CHOU = 0x4e01; // 丁
const CH_ME = 0x76ee; // 目
const CH_BAN = 0x756a; // 番
const CH_CHI = 0x5730; // 地
const CH_GOU = 0x53f7; // 号
const CH_NO = 0x306e; // の
const CH_JOU = 0x6761; // 条
const CH_SEN = 0x7dda; // 線
const CH_WARI = 0x5272; // 割

function isDigitCode(c: number): boolean {
  return c >= CODE_0 && c <= CODE_9;
}

/**
 * True when the text just before `index` marks a block number: a hyphen, 番, 番地, 丁目
 * or の (as in 八番地の一). A digit or 号 does not: "1号 三井ビル" keeps its 三.
 */
function precededByBlockMark(s: string, index: number): boolean {
  if (index === 0) return false;
  const c = s.charCodeAt(index - 1);
  if (HYPHEN_SET.has(c) || c === CH_BAN || c === CH_NO) return true;
  if (index < 2) return false;
  const b = s.charCodeAt(index - 2);
  return (c === CH_ME && b === CH_CHOU) || (c === CH_CHI && b === CH_BAN);
}

/**
 * True when the text from `index` on marks a block number: a digit, a hyphen, 丁目, 番
 * (番地), 号, 条, 線 or 地割 (北一条西二丁目, 第二地割).
 */
function followedByBlockMark(s: string, index: number): boolean {
  if (index >= s.length) return false;
  const c = s.charCodeAt(index);
  if (isDigitCode(c) || HYPHEN_SET.has(c)) return true;
  if (c === CH_BAN || c === CH_GOU || c === CH_JOU || c === CH_SEN) return true;
  const d = s.charCodeAt(index + 1);
  return (c === CH_CHOU && d === CH_ME) || (c === CH_CHI && d === CH_WARI);
}

/**
 * The value of a kanji numeral run as ASCII digits: positional (三十四 → 34, 千二 → 1002)
 * when it holds 十/百/千, digit by digit (一二三 → 123, 二〇 → 20) otherwise; `undefined`
 * when the positional value would not be a safe integer.
 */
export function kanjiNumeralValue(run: string): string | undefined {
  let positional = false;
  for (let i = 0; i < run.length; i++) {
    if (KANJI_UNIT.has(run.charCodeAt(i))) {
      positional = true;
      break;
    }
  }
  if (!positional) {
    let out = '';
    for (let i = 0; i < run.length; i++) {
      const d = KANJI_DIGIT[run.charCodeAt(i)] ?? -1;
      if (d < 0) return undefined;
      out += String.fromCharCode(CODE_0 + d);
    }
    return out;
  }
  let total = 0;
  let current = 0;
  for (let i = 0; i < run.length; i++) {
    const c = run.charCodeAt(i);
    const unit = KANJI_UNIT.get(c);
    if (unit !== undefined) {
      total += (current === 0 ? 1 : current) * unit;
      current = 0;
    } else {
      current = current * 10 + (KANJI_DIGIT[c] ?? 0);
    }
  }
  total += current;
  return Number.isSafeInteger(total) ? String(total) : undefined;
}

const HAN = /\p{Script=Han}/u;

/** True when a kanji (a building or place name such as 三井, 一ツ橋 goes on) follows at `index`. */
function followedByKanji(s: string, index: number): boolean {
  if (index >= s.length) return false;
  const c = s.charCodeAt(index);
  return c >= 0xd800 && c <= 0xdbff ? HAN.test(s.slice(index, index + 2)) : HAN.test(s.charAt(index));
}

function replaceNumeralRun(run: string, offset: number, whole: string): string {
  const end = offset + run.length;
  const isBlockNumber =
    followedByBlockMark(whole, end) || (precededByBlockMark(whole, offset) && !followedByKanji(whole, end));
  return isBlockNumber ? (kanjiNumeralValue(run) ?? run) : run;
}

/**
 * Writes kanji numerals in block numbers as ASCII digits: a run of 〇一二三四五六七八九十百千
 * followed by 丁目 / 番 / 番地 / 号 / 条 / 線 / 地割 / a hyphen / a digit, or preceded by
 * 番 / 番地 / 丁目 / の / a hyphen and not followed by a kanji (八番一, 八番地の一 at the end
 * or before a space or a katakana building name). Runs inside place and building names
 * (千代田, 四谷, 三鷹, 第一ビル, 一番町…三井ビル after 1番地) are left alone. Expects NFKC input (ASCII digits). Returns `s` itself
 * when nothing changes.
 *
 * @example convertKanjiNumerals('西新宿二丁目八番一号') // => '西新宿2丁目8番1号'
 * @example convertKanjiNumerals('千代田一丁目三十四番') // => '千代田1丁目34番'
 */
export function convertKanjiNumerals(s: string): string {
  if (!HAS_KANJI_NUMERAL.test(s)) return s;
  return s.replace(KANJI_NUMERAL_RUN, replaceNumeralRun);
}

/** Units, hyphens or の between two numbers: become one '-'. */
const BLOCK_SEPARATOR = new RegExp(`(?<=[0-9])(?:丁目|番地|番|号|の|[${HYPHENS}])+(?=[0-9])`, 'g');
/** Units after a number that no number follows: dropped (2丁目8番1号 → 2-8-1). */
const TRAILING_UNIT = /(?<=[0-9])(?:丁目|番地|番|号)+(?![0-9])/g;
/** Whitespace between two numbers (2-8-1 101): a block separator. */
const SPACE_BETWEEN_NUMBERS = /(?<=[0-9])\s+(?=[0-9])/g;
const ANY_SPACE = /\s+/g;
const HAS_BLOCK_MARK = new RegExp(`[0-9](?:丁目|番|号|の|[${HYPHENS}])`);

/**
 * The `N-N-N` form: 丁目 / 番 / 番地 / 号 / の / any dash between two numbers become one
 * '-', units after the last number are dropped. Expects NFKC input with kanji numerals
 * already converted. Returns `s` itself when nothing changes.
 *
 * @example applyBlockForm('西新宿2丁目8番1号') // => '西新宿2-8-1'
 * @example applyBlockForm('西新宿2丁目8－1') // => '西新宿2-8-1'
 * @example applyBlockForm('西新宿2ー8ー1') // => '西新宿2-8-1'
 */
export function applyBlockForm(s: string): string {
  if (!HAS_BLOCK_MARK.test(s)) return s;
  const separated = s.replace(BLOCK_SEPARATOR, '-');
  return separated.replace(TRAILING_UNIT, '');
}

/**
 * Removes whitespace, except that whitespace between two numbers becomes '-' (a room
 * number written after a space: `2-8-1 101` → `2-8-1-101`). Reports which of the two
 * happened so the caller can name the step.
 */
export function removeAddressSpaces(s: string): { value: string; removed: boolean; separated: boolean } {
  const separatedValue = s.replace(SPACE_BETWEEN_NUMBERS, '-');
  const value = separatedValue.replace(ANY_SPACE, '');
  return { value, removed: value !== separatedValue, separated: separatedValue !== s };
}

/** ケ written as ヶ, ヵ, が or ガ between two kanji (霞ヶ関 = 霞ケ関 = 霞が関). */
const PLACE_NAME_KE = /(?<=\p{Script=Han})[ヶヵがガ](?=\p{Script=Han})/gu;
const HAS_KE_VARIANT = /[ヶヵがガ]/;

/**
 * Folds the ケ of place names: ヶ / ヵ / が / ガ between two kanji become ケ (霞ヶ関,
 * 霞が関 → 霞ケ関; 自由が丘 → 自由ケ丘). Returns `s` itself when nothing changes.
 */
export function foldPlaceNameKe(s: string): string {
  if (!HAS_KE_VARIANT.test(s)) return s;
  return s.replace(PLACE_NAME_KE, 'ケ');
}

/** The 47 prefectures (都道府県), as a leading-match pattern. */
const PREFECTURES = [
  '北海道',
  '青森県',
  '岩手県',
  '宮城県',
  '秋田県',
  '山形県',
  '福島県',
  '茨城県',
  '栃木県',
  '群馬県',
  '埼玉県',
  '千葉県',
  '東京都',
  '神奈川県',
  '新潟県',
  '富山県',
  '石川県',
  '福井県',
  '山梨県',
  '長野県',
  '岐阜県',
  '静岡県',
  '愛知県',
  '三重県',
  '滋賀県',
  '京都府',
  '大阪府',
  '兵庫県',
  '奈良県',
  '和歌山県',
  '鳥取県',
  '島根県',
  '岡山県',
  '広島県',
  '山口県',
  '徳島県',
  '香川県',
  '愛媛県',
  '高知県',
  '福岡県',
  '佐賀県',
  '長崎県',
  '熊本県',
  '大分県',
  '宮崎県',
  '鹿児島県',
  '沖縄県',
] as const;
const LEADING_PREFECTURE = new RegExp(`^(?:${PREFECTURES.join('|')})`);

/** The number of prefectures known to {@link stripPrefecture} (47). */
export const PREFECTURE_COUNT = PREFECTURES.length;

/**
 * `s` without a leading prefecture name (東京都新宿区… → 新宿区…), or `s` itself.
 * @example stripPrefecture('東京都新宿区西新宿2-8-1') // => '新宿区西新宿2-8-1'
 */
export function stripPrefecture(s: string): string {
  const m = LEADING_PREFECTURE.exec(s);
  return m === null ? s : s.slice(m[0].length);
}

/** Number of '-' in the run of digits and '-' that ends `s` at `end` (exclusive). */
function hyphensInTrailingBlock(s: string, end: number): number {
  let hyphens = 0;
  for (let i = end - 1; i >= 0; i--) {
    const c = s.charCodeAt(i);
    if (c === 0x2d) hyphens++;
    else if (!isDigitCode(c)) break;
  }
  return hyphens;
}

/**
 * True when one normalised address is the other plus a building name or room: the shorter
 * is a prefix of the longer, ends with a digit (its block number), and the longer goes on
 * with
 * - something other than a digit or '-' (`…2-8-1` + `都庁第一本庁舎`, `…2-8-1` + `101号室`), or
 * - `-<digits>` when the shorter already ends in a three-part block `N-N-N` (`2-8-1` +
 *   `-101`, a room number).
 * A less precise block (`…2-8` against `…2-8-1`, `…123` against `…123-4`) is not a
 * prefix match: it may be a neighbour's house. Symmetric in its arguments.
 */
export function isBuildingOrRoomExtension(a: string, b: string): boolean {
  const [short, long] = a.length <= b.length ? [a, b] : [b, a];
  if (short.length === 0 || short.length === long.length || !long.startsWith(short)) return false;
  const last = short.charCodeAt(short.length - 1);
  if (!isDigitCode(last)) return false;
  const next = long.charCodeAt(short.length);
  if (isDigitCode(next)) return false;
  if (next !== 0x2d) return true;
  return isDigitCode(long.charCodeAt(short.length + 1)) && hyphensInTrailingBlock(short, short.length) >= 2;
}
