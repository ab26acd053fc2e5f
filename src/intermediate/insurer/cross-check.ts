/**
 * The cross-check (突合 / 誤りチェック, crossCheck) of the basic five items (基本5情報) that
 * the hub sends with a 個人番号 against what the insurer intermediate server holds for that
 * 個人番号. It is an error check that prevents a wrong linkage: the server numbers a subject
 * only when the check passes. Per field it gives a verdict (never a value) and the
 * normalisations that made two spellings equal.
 *
 * Decision: pass iff dateOfBirth matches (after normalisation), sex matches exactly, and
 * name or nameKana matches (after normalisation). Address never fails the check on its own:
 * a mismatching or missing address is a warning. Details and examples: docs/CROSS-CHECK.md.
 *
 * Hot path (10,000+ calls a second): every table and regular expression is built once at
 * module load; strings already in normal form take a scan-only fast path.
 *
 * Source: DOMAIN.md "Flows" step 2 (Number ㉗); GLOSSARY.md 突合 / 誤りチェック, 基本5情報;
 * PEERS.md (Mainzelliste: false "definite" matches on a birth date differing in one
 * component or an empty name).
 */
import { normaliseKana, parseJapaneseDate } from '../../japanese/index.js';
import {
  applyBlockForm,
  convertKanjiNumerals,
  foldPlaceNameKe,
  isBuildingOrRoomExtension,
  removeAddressSpaces,
  stripPrefecture,
} from './address.js';
import type { CrossCheckField, CrossCheckReason, FieldVerdict } from './insurer.schemas.js';

/** The basic five items (基本5情報) of one person, as submitted or as registered. */
export interface BasicInfo {
  name: string;
  nameKana: string;
  address: string;
  dateOfBirth: string;
  sex: string;
}

/**
 * A normalisation step that changed something:
 * - `whitespace`: spaces, full-width spaces, tabs removed (in an address, whitespace between
 *   two numbers becomes '-' and is reported as `address-form`);
 * - `kana-width`: NFKC width folding (half-width katakana, full-width letters and digits,
 *   composed voiced marks) in any field;
 * - `hiragana-katakana`: hiragana written as katakana (kana only);
 * - `small-kana`: small kana written large, ァ → ア, ッ → ツ (kana only);
 * - `itaiji`: 旧字体 / 異体字 folded to the common form, CJK compatibility ideographs and
 *   variation selectors (IVS) folded (name and address);
 * - `era-date`: a date written other than ISO (和暦, slashes, compact, full-width);
 * - `address-form`: `N丁目N番N号` / `N丁目N-N` / dashes → `N-N-N`, ケ in place names,
 *   prefecture omitted on one side, building or room added on one side;
 * - `kanji-numerals`: kanji numerals of block numbers written in digits (二丁目 → 2丁目).
 */
export type Normalisation =
  | 'whitespace'
  | 'kana-width'
  | 'hiragana-katakana'
  | 'small-kana'
  | 'itaiji'
  | 'era-date'
  | 'address-form'
  | 'kanji-numerals';

/** One field's outcome; `normalisations` is non-empty only for `match-after-normalisation`. */
export interface FieldCheck {
  field: CrossCheckField;
  verdict: FieldVerdict;
  normalisations: Normalisation[];
}

/**
 * The outcome of one cross-check: `fields` in the order name, nameKana, address,
 * dateOfBirth, sex; `reasons` the fields that failed it; `warnings` fields that did not
 * match but did not fail it (address; the one of name / nameKana that did not carry a pass).
 */
export interface CrossCheckResult {
  passed: boolean;
  fields: FieldCheck[];
  reasons: CrossCheckReason[];
  warnings: CrossCheckReason[];
}

// ---------------------------------------------------------------------------------------
// Normalisation flags: one bit per step, in the order of NORMALISATION_ORDER.

const WHITESPACE = 1;
const KANA_WIDTH = 2;
const HIRAGANA_KATAKANA = 4;
const SMALL_KANA = 8;
const ITAIJI = 16;
const ERA_DATE = 32;
const ADDRESS_FORM = 64;
const KANJI_NUMERALS = 128;

const NORMALISATION_ORDER: readonly Normalisation[] = [
  'whitespace',
  'kana-width',
  'hiragana-katakana',
  'small-kana',
  'itaiji',
  'era-date',
  'address-form',
  'kanji-numerals',
];

/** The step names of a flag set, in a fixed order. A fresh array each call (callers own it). */
function namesOf(mask: number): Normalisation[] {
  const out: Normalisation[] = [];
  if (mask === 0) return out;
  for (let i = 0; i < NORMALISATION_ORDER.length; i++) {
    if (mask & (1 << i)) out.push(NORMALISATION_ORDER[i] as Normalisation);
  }
  return out;
}

/** How many times a pipeline is re-run to reach its fixed point (idempotence). */
const MAX_ROUNDS = 4;

const ANY_SPACE = /\s/;
const ALL_SPACES = /\s+/g;

function removeSpaces(s: string): string {
  return ANY_SPACE.test(s) ? s.replace(ALL_SPACES, '') : s;
}

/**
 * True for code units that NFKC never changes on their own and that never combine with a
 * neighbour: printable ASCII, hiragana, full-width katakana with ー・ヽヾ, CJK unified
 * ideographs (and extension A).
 */
function isNfkcStableUnit(c: number): boolean {
  return (
    (c > 0x20 && c < 0x7f) ||
    (c >= 0x3041 && c <= 0x3096) ||
    (c >= 0x30a1 && c <= 0x30fe) ||
    (c >= 0x4e00 && c <= 0x9fff) ||
    (c >= 0x3400 && c <= 0x4dbf)
  );
}

function nfkc(s: string): string {
  for (let i = 0; i < s.length; i++) {
    if (!isNfkcStableUnit(s.charCodeAt(i))) return s.normalize('NFKC');
  }
  return s;
}

// ---------------------------------------------------------------------------------------
// 異体字 / 旧字体 table (itaiji). No package on the npm registry keeps such a table, so it is
// embedded: the 旧字体 → 新字体 pairs of the 常用漢字表 and 人名用漢字 lists that occur in
// names and place names, plus common 異体字 of surnames (髙, 﨑, 嵜, 邉, 濵, 𠮷, 嶋, 冨, …).
// Each pair is "variant" + "common form". A test checks that no common form is itself a
// variant and that every entry is unchanged by NFKC.

const ITAIJI_PAIRS =
  '亞亜 惡悪 壓圧 圍囲 醫医 爲為 壹壱 隱隠 榮栄 營営 衞衛 驛駅 圓円 鹽塩 應応 歐欧 毆殴 櫻桜 ' +
  '假仮 價価 畫画 會会 繪絵 擴拡 覺覚 學学 嶽岳 樂楽 卷巻 寬寛 關関 歡歓 觀観 氣気 龜亀 僞偽 ' +
  '舊旧 據拠 擧挙 峽峡 狹狭 曉暁 區区 驅駆 勳勲 徑径 惠恵 溪渓 經経 繼継 莖茎 螢蛍 輕軽 鷄鶏 ' +
  '藝芸 缺欠 儉倹 劍剣 圈圏 檢検 權権 獻献 縣県 險険 顯顕 驗験 嚴厳 效効 廣広 恆恒 鑛鉱 號号 ' +
  '國国 黑黒 濟済 碎砕 齋斎 劑剤 雜雑 參参 慘惨 棧桟 蠶蚕 贊賛 殘残 絲糸 齒歯 兒児 辭辞 濕湿 ' +
  '實実 舍舎 寫写 釋釈 壽寿 收収 從従 澁渋 獸獣 縱縦 肅粛 處処 敍叙 將将 燒焼 稱称 證証 乘乗 ' +
  '剩剰 壤壌 孃嬢 條条 淨浄 疊畳 讓譲 釀醸 囑嘱 觸触 寢寝 愼慎 眞真 盡尽 圖図 粹粋 醉酔 隨随 ' +
  '髓髄 數数 樞枢 瀨瀬 聲声 靜静 齊斉 攝摂 竊窃 專専 戰戦 淺浅 潛潜 纖繊 踐践 錢銭 禪禅 雙双 ' +
  '壯壮 搜捜 插挿 爭争 總総 聰聡 莊荘 裝装 騷騒 增増 藏蔵 臟臓 卽即 屬属 續続 墮堕 體体 對対 ' +
  '帶帯 滯滞 臺台 瀧滝 擇択 澤沢 單単 擔担 膽胆 團団 彈弾 斷断 癡痴 遲遅 晝昼 蟲虫 鑄鋳 廳庁 ' +
  '聽聴 敕勅 鎭鎮 遞逓 鐵鉄 轉転 點点 傳伝 黨党 盜盗 燈灯 當当 鬪闘 德徳 獨独 讀読 屆届 繩縄 ' +
  '貳弐 惱悩 腦脳 霸覇 廢廃 拜拝 賣売 麥麦 發発 髮髪 拔抜 蠻蛮 祕秘 濱浜 甁瓶 拂払 佛仏 竝並 ' +
  '變変 邊辺 辨弁 瓣弁 辯弁 舖舗 步歩 穗穂 寶宝 豐豊 沒没 飜翻 每毎 萬万 滿満 默黙 譯訳 藥薬 ' +
  '與与 豫予 餘余 譽誉 搖揺 樣様 謠謡 來来 賴頼 亂乱 覽覧 龍竜 兩両 獵猟 綠緑 壘塁 勵励 禮礼 ' +
  '隸隷 靈霊 齡齢 戀恋 爐炉 勞労 樓楼 錄録 灣湾 彌弥 ' +
  '髙高 﨑崎 嵜崎 邉辺 濵浜 𠮷吉 嶋島 嶌島 冨富 峯峰 桒桑 舩船 埜野 𣘺橋 槗橋 邨村 躰体 軆体 ' +
  '杦杉 栁柳 冝宜 曾曽';

/**
 * Code point → replacement: the table above, every CJK compatibility ideograph that has a
 * canonical (NFC) equivalent (館 U+F9B1 → 館), chased through the table, and the variation
 * selectors (U+FE00–FE0F, IVS U+E0100–E01EF) → ''.
 */
const ITAIJI_FOLD: ReadonlyMap<number, string> = (() => {
  const table = new Map<number, string>();
  for (const pair of ITAIJI_PAIRS.split(' ')) {
    const [variant, common] = [...pair];
    if (variant === undefined || common === undefined) continue;
    table.set(variant.codePointAt(0) as number, common);
  }
  const chase = (s: string): string => table.get(s.codePointAt(0) as number) ?? s;
  for (const [from, to] of [
    [0xf900, 0xfaff],
    [0x2f800, 0x2fa1f],
  ] as const) {
    for (let cp = from; cp <= to; cp++) {
      const ch = String.fromCodePoint(cp);
      const canonical = ch.normalize('NFC');
      if (canonical !== ch && !table.has(cp)) table.set(cp, chase(canonical));
    }
  }
  for (let cp = 0xfe00; cp <= 0xfe0f; cp++) table.set(cp, '');
  for (let cp = 0xe0100; cp <= 0xe01ef; cp++) table.set(cp, '');
  return table;
})();

/** 1 for every BMP code unit that may start a fold (table keys and surrogates). */
const MAY_FOLD = (() => {
  const flags = new Uint8Array(0x10000);
  for (const cp of ITAIJI_FOLD.keys()) if (cp < 0x10000) flags[cp] = 1;
  for (let c = 0xd800; c <= 0xdfff; c++) flags[c] = 1;
  return flags;
})();

/** Folds 異体字 / 旧字体 / compatibility ideographs / variation selectors. `s` itself if none. */
function foldItaiji(s: string): string {
  let i = 0;
  while (i < s.length && MAY_FOLD[s.charCodeAt(i)] === 0) i++;
  if (i === s.length) return s;
  let out = s.slice(0, i);
  let changed = false;
  while (i < s.length) {
    const cp = s.codePointAt(i) as number;
    const width = cp > 0xffff ? 2 : 1;
    const folded = ITAIJI_FOLD.get(cp);
    if (folded === undefined) {
      out += s.slice(i, i + width);
    } else {
      out += folded;
      changed = true;
    }
    i += width;
  }
  return changed ? out : s;
}

/** The itaiji table's size (variant → common pairs), for the docs and tests. */
export const ITAIJI_PAIR_COUNT = ITAIJI_PAIRS.split(' ').length;

/** The variant → common pairs of the embedded table (tests and docs). */
export function itaijiPairs(): Array<[string, string]> {
  return ITAIJI_PAIRS.split(' ').map((p) => {
    const [a, b] = [...p];
    return [a ?? '', b ?? ''];
  });
}

// ---------------------------------------------------------------------------------------
// Name (氏名)

/**
 * Normalises a name (氏名) for comparison: whitespace removed (東京 花子 = 東京　花子 =
 * 東京花子), NFKC width, 異体字 / 旧字体 folded (髙橋 → 高橋, 齋藤 → 斎藤, 渡邉 → 渡辺).
 * Hiragana and katakana are not folded into each other in a name (さくら ≠ サクラ as written
 * names); family / given order is not changed. Idempotent.
 *
 * @example normaliseName('髙橋　﨑子') // => { value: '高橋崎子', applied: ['whitespace', 'itaiji'] }
 */
export function normaliseName(s: string): { value: string; applied: Normalisation[] } {
  let mask = 0;
  let v = removeSpaces(s);
  if (v !== s) mask |= WHITESPACE;
  let next = foldItaiji(v);
  if (next !== v) mask |= ITAIJI;
  v = next;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const widened = nfkc(v);
    if (widened === v) break;
    mask |= KANA_WIDTH;
    const spaced = removeSpaces(widened);
    if (spaced !== widened) mask |= WHITESPACE;
    next = foldItaiji(spaced);
    if (next !== spaced) mask |= ITAIJI;
    v = next;
  }
  return { value: v, applied: namesOf(mask) };
}

// ---------------------------------------------------------------------------------------
// Kana (氏名カナ)

/** Small katakana (and the katakana phonetic extensions ㇰ–ㇿ) → their large form. */
const SMALL_TO_LARGE: ReadonlyMap<number, number> = (() => {
  const map = new Map<number, number>();
  const small = 'ァィゥェォッャュョヮヵヶㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ';
  const large = 'アイウエオツヤユヨワカケクシストヌハヒフヘホムラリルレロ';
  for (let i = 0; i < small.length; i++) map.set(small.charCodeAt(i), large.charCodeAt(i));
  return map;
})();

const COMBINING_MARK = /[\u3099\u309a]/;
const HIRAGANA = /[\u3041-\u3096\u309d\u309e]/;

/** Writes small kana large; `s` itself if there is none. Recomposes voiced marks after. */
function foldSmallKana(s: string): string {
  let i = 0;
  while (i < s.length && !SMALL_TO_LARGE.has(s.charCodeAt(i))) i++;
  if (i === s.length) return s;
  let out = s.slice(0, i);
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const large = SMALL_TO_LARGE.get(c);
    out += String.fromCharCode(large ?? c);
  }
  return COMBINING_MARK.test(out) ? out.normalize('NFC') : out;
}

/** True when `s` is only large full-width katakana, ー, ・, ヽ, ヾ: nothing to normalise. */
function isPlainKatakana(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30a1 || c > 0x30fe || SMALL_TO_LARGE.has(c)) return false;
  }
  return true;
}

/**
 * Normalises a kana name (氏名カナ) for comparison. {@link normaliseKana} (NFKC width:
 * ｱｲﾁ → アイチ, reported as `kana-width`; hiragana → katakana, reported as
 * `hiragana-katakana`), then every space removed (`whitespace`), then small kana written
 * large (`small-kana`: ァ → ア, ッ → ツ, ャ → ヤ … for legacy systems without small kana).
 * ヴ is not folded to ブ, nor ヂ/ヅ to ジ/ズ, nor ヲ to オ: they are different kana; ー and ・
 * are kept. Idempotent.
 *
 * @example normaliseKanaForMatch('ｷｮｳｺ') // => { value: 'キヨウコ', applied: ['kana-width', 'small-kana'] }
 */
export function normaliseKanaForMatch(s: string): { value: string; applied: Normalisation[] } {
  if (isPlainKatakana(s)) return { value: s, applied: [] };
  let mask = 0;
  const bare = removeSpaces(s);
  if (bare !== s) mask |= WHITESPACE;
  const widened = nfkc(bare);
  if (widened !== bare) mask |= KANA_WIDTH;
  if (HIRAGANA.test(widened)) mask |= HIRAGANA_KATAKANA;
  let v = s;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const kana = removeSpaces(normaliseKana(v));
    const large = foldSmallKana(kana);
    if (large !== kana) mask |= SMALL_KANA;
    if (large === v) break;
    v = large;
  }
  return { value: v, applied: namesOf(mask) };
}

// ---------------------------------------------------------------------------------------
// Address (住所)

/**
 * Normalises an address (住所) for comparison, in this order: whitespace (kept as a
 * boundary until the end), NFKC width (`kana-width`), 異体字 (`itaiji`), ケ in place names
 * (霞ヶ関 / 霞が関 → 霞ケ関, `address-form`), kanji numerals of block numbers
 * (`kanji-numerals`: 二丁目 → 2丁目, 三十四号 → 34号), the `N-N-N` form (`address-form`:
 * 2丁目8番1号, 2丁目8-1, 2ー8ー1, 2－8－1 → 2-8-1), then whitespace removed — except
 * between two numbers, where it becomes '-' (`address-form`). The prefecture and
 * building/room rules compare two addresses and so live in {@link crossCheck}. Idempotent.
 *
 * @example normaliseAddress('東京都新宿区西新宿二丁目８番１号').value // => '東京都新宿区西新宿2-8-1'
 */
export function normaliseAddress(s: string): { value: string; applied: Normalisation[] } {
  let mask = 0;
  let v = s;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    let w = nfkc(v);
    // A full-width space that NFKC turns into ' ' is whitespace, not width.
    if (w !== v && removeSpaces(w) !== removeSpaces(v)) mask |= KANA_WIDTH;
    let next = foldItaiji(w);
    if (next !== w) mask |= ITAIJI;
    w = next;
    next = foldPlaceNameKe(w);
    if (next !== w) mask |= ADDRESS_FORM;
    w = next;
    next = convertKanjiNumerals(w);
    if (next !== w) mask |= KANJI_NUMERALS;
    w = next;
    next = applyBlockForm(w);
    if (next !== w) mask |= ADDRESS_FORM;
    w = next;
    const spaces = removeAddressSpaces(w);
    if (spaces.removed) mask |= WHITESPACE;
    if (spaces.separated) mask |= ADDRESS_FORM;
    if (spaces.value === v) break;
    v = spaces.value;
  }
  return { value: v, applied: namesOf(mask) };
}

// ---------------------------------------------------------------------------------------
// Date of birth (生年月日)

/**
 * Normalises a date of birth to ISO `YYYY-MM-DD` with {@link parseJapaneseDate}
 * (和暦 R7.4.1 / 令和7年4月1日 / 5070401, slashes, compact, full-width: `era-date`; spaces
 * around it: `whitespace`). An unreadable or impossible date becomes '' (so the field is
 * `missing`: a date that cannot be read never matches). Idempotent.
 *
 * @example normaliseDate('昭和60年1月2日') // => { value: '1985-01-02', applied: ['era-date'] }
 */
export function normaliseDate(s: string): { value: string; applied: Normalisation[] } {
  const parsed = parseJapaneseDate(s);
  if (!parsed.ok) return { value: '', applied: [] };
  if (parsed.value === s) return { value: s, applied: [] };
  const trimmed = s.trim();
  const mask = (trimmed !== s ? WHITESPACE : 0) | (parsed.value !== trimmed ? ERA_DATE : 0);
  return { value: parsed.value, applied: namesOf(mask) };
}

// ---------------------------------------------------------------------------------------
// The check

interface NormalisedValue {
  value: string;
  applied: Normalisation[];
}
type Normaliser = (s: string) => NormalisedValue;

function unionInOrder(a: readonly Normalisation[], b: readonly Normalisation[]): Normalisation[] {
  if (b.length === 0) return a.slice();
  if (a.length === 0) return b.slice();
  const out: Normalisation[] = [];
  for (const n of NORMALISATION_ORDER) if (a.includes(n) || b.includes(n)) out.push(n);
  return out;
}

function checkField(
  field: CrossCheckField,
  x: string,
  y: string,
  nx: NormalisedValue,
  ny: NormalisedValue,
): FieldCheck {
  if (nx.value.length === 0 || ny.value.length === 0)
    return { field, verdict: 'missing', normalisations: [] };
  if (x === y) return { field, verdict: 'match', normalisations: [] };
  if (nx.value === ny.value) {
    return {
      field,
      verdict: 'match-after-normalisation',
      normalisations: unionInOrder(nx.applied, ny.applied),
    };
  }
  return { field, verdict: 'mismatch', normalisations: [] };
}

/** Normalises `x` and `y` (once when they are the same string, as they mostly are). */
function checkNormalised(field: CrossCheckField, x: string, y: string, normalise: Normaliser): FieldCheck {
  const nx = normalise(x);
  return checkField(field, x, y, nx, x === y ? nx : normalise(y));
}

const ADDRESS_FORM_ONLY: readonly Normalisation[] = ['address-form'];

/**
 * Address: as {@link checkField}, plus two rules when the normalised strings differ —
 * a prefecture written on one side only (東京都新宿区… vs 新宿区…; two different
 * prefectures never match), and a building name or room added on one side after the block
 * number ({@link isBuildingOrRoomExtension}). Either gives `match-after-normalisation` with
 * `address-form`.
 */
function checkAddress(x: string, y: string): FieldCheck {
  const nx = normaliseAddress(x);
  const ny = x === y ? nx : normaliseAddress(y);
  const base = checkField('address', x, y, nx, ny);
  if (base.verdict !== 'mismatch') return base;
  let ax = nx.value;
  let ay = ny.value;
  const px = stripPrefecture(ax);
  const py = stripPrefecture(ay);
  if ((px === ax) !== (py === ay)) {
    // Exactly one side names a prefecture: compare without it.
    ax = px;
    ay = py;
  }
  if ((ax.length > 0 && ax === ay) || isBuildingOrRoomExtension(ax, ay)) {
    return {
      field: 'address',
      verdict: 'match-after-normalisation',
      normalisations: unionInOrder(unionInOrder(nx.applied, ny.applied), ADDRESS_FORM_ONLY),
    };
  }
  return base;
}

/** Sex (性別): the code compared exactly ("1" male, "2" female, …); '' or blanks = missing. */
function checkSex(x: string, y: string): FieldCheck {
  if (x.trim().length === 0 || y.trim().length === 0)
    return { field: 'sex', verdict: 'missing', normalisations: [] };
  return { field: 'sex', verdict: x === y ? 'match' : 'mismatch', normalisations: [] };
}

function isMatch(check: FieldCheck): boolean {
  return check.verdict === 'match' || check.verdict === 'match-after-normalisation';
}

function reasonOf(check: FieldCheck): CrossCheckReason {
  return { field: check.field, verdict: check.verdict };
}

/**
 * Cross-checks the basic five items submitted with a 個人番号 against those registered for
 * it. Passes iff
 * - dateOfBirth is `match` or `match-after-normalisation` (one day off in any component
 *   fails: PEERS.md's false-"definite"-match trap), and
 * - sex is `match`, and
 * - name or nameKana is `match` or `match-after-normalisation` (an empty name passes only
 *   through its kana; both empty fails with both as reasons).
 *
 * `reasons`: each field that made it fail (in field order). `warnings`: an address that is
 * `mismatch` or `missing` (never a reason on its own), and, when the check passed through one
 * of name / nameKana, the other one if it did not match. Symmetric in its pass/fail decision
 * and in every verdict.
 *
 * @example crossCheck(a, { ...a, dateOfBirth: '1985-01-03' }).reasons // => [{ field: 'dateOfBirth', verdict: 'mismatch' }]
 */
export function crossCheck(submitted: BasicInfo, registered: BasicInfo): CrossCheckResult {
  const name = checkNormalised('name', submitted.name, registered.name, normaliseName);
  const nameKana = checkNormalised(
    'nameKana',
    submitted.nameKana,
    registered.nameKana,
    normaliseKanaForMatch,
  );
  const address = checkAddress(submitted.address, registered.address);
  const dateOfBirth = checkNormalised(
    'dateOfBirth',
    submitted.dateOfBirth,
    registered.dateOfBirth,
    normaliseDate,
  );
  const sex = checkSex(submitted.sex, registered.sex);

  const reasons: CrossCheckReason[] = [];
  const warnings: CrossCheckReason[] = [];
  const nameOk = isMatch(name);
  const kanaOk = isMatch(nameKana);
  if (!nameOk && !kanaOk) {
    reasons.push(reasonOf(name), reasonOf(nameKana));
  } else if (!nameOk) {
    warnings.push(reasonOf(name));
  } else if (!kanaOk) {
    warnings.push(reasonOf(nameKana));
  }
  if (!isMatch(address)) warnings.push(reasonOf(address));
  if (!isMatch(dateOfBirth)) reasons.push(reasonOf(dateOfBirth));
  if (sex.verdict !== 'match') reasons.push(reasonOf(sex));

  return {
    passed: reasons.length === 0,
    fields: [name, nameKana, address, dateOfBirth, sex],
    reasons,
    warnings,
  };
}
