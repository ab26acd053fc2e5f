/**
 * Normalisation of kana names (`nameKana`) and of whitespace in name and address fields,
 * so that the same person written by different case systems compares equal.
 *
 * Source: DOMAIN.md "The public PMH municipality API" (sample `nameKana` in full-width
 * katakana) and "Flows" step 2 (cross-check of kana, name and address).
 */

const SPACE = 0x20;
const TAB = 0x09;
const IDEOGRAPHIC_SPACE = 0x3000;
const COMBINING_VOICED_MARK = 0x3099;
const COMBINING_SEMI_VOICED_MARK = 0x309a;
const HIRAGANA_FIRST = 0x3041;
const HIRAGANA_LAST = 0x3096;
const HIRAGANA_ITERATION = 0x309d;
const HIRAGANA_VOICED_ITERATION = 0x309e;
const HIRAGANA_TO_KATAKANA = 0x60;
const KATAKANA_NAME_FIRST = 0x30a1;
const KATAKANA_NAME_LAST = 0x30fe;
const FROM_CHAR_CODE_CHUNK = 4096;

/** Scratch buffer for building results; grown on demand, never shrunk. */
let scratch = new Uint16Array(256);

function isCollapsibleSpace(c: number): boolean {
  return c === SPACE || c === TAB || c === IDEOGRAPHIC_SPACE;
}

/**
 * True for code units that NFKC leaves alone, that compose with nothing, and that the
 * hiragana step does not touch: printable ASCII, full-width katakana with ー・ヽヾ, and
 * CJK unified ideographs. A string of only these (and single inner spaces) is already
 * normalised.
 */
function isStableForKana(c: number): boolean {
  return (
    (c > SPACE && c < 0x7f) ||
    (c >= KATAKANA_NAME_FIRST && c <= KATAKANA_NAME_LAST) ||
    (c >= 0x4e00 && c <= 0x9fff)
  );
}

function isAlreadyNormalised(s: string): boolean {
  let previousWasSpace = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === SPACE) {
      if (previousWasSpace) return false;
      previousWasSpace = true;
    } else if (isStableForKana(c)) {
      previousWasSpace = false;
    } else {
      return false;
    }
  }
  return !previousWasSpace || s.length === 0;
}

function decodeScratch(length: number): string {
  if (length <= FROM_CHAR_CODE_CHUNK) {
    return String.fromCharCode.apply(null, scratch.subarray(0, length) as unknown as number[]);
  }
  let out = '';
  for (let start = 0; start < length; start += FROM_CHAR_CODE_CHUNK) {
    const end = Math.min(start + FROM_CHAR_CODE_CHUNK, length);
    out += String.fromCharCode.apply(null, scratch.subarray(start, end) as unknown as number[]);
  }
  return out;
}

/**
 * Collapses every run of ASCII spaces, full-width spaces (U+3000) and tabs into one
 * U+0020 and trims both ends; never removes an inner space. Returns `s` itself when there
 * is nothing to change.
 *
 * Source: DOMAIN.md "Flows" step 2 (basic info is cross-checked, so spacing must not
 * make two spellings of one name differ).
 * @example normaliseWhitespace('\u3000愛知\t\t花子 ') // => '愛知 花子'
 */
export function normaliseWhitespace(s: string): string {
  let clean = true;
  let previousWasSpace = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === SPACE) {
      if (previousWasSpace) {
        clean = false;
        break;
      }
      previousWasSpace = true;
    } else if (c === TAB || c === IDEOGRAPHIC_SPACE) {
      clean = false;
      break;
    } else {
      previousWasSpace = false;
    }
  }
  if (clean && (!previousWasSpace || s.length === 0)) return s;

  let out = '';
  let segmentStart = -1;
  let pendingSpace = false;
  for (let i = 0; i < s.length; i++) {
    if (isCollapsibleSpace(s.charCodeAt(i))) {
      if (segmentStart >= 0) {
        out += s.slice(segmentStart, i);
        segmentStart = -1;
      }
      pendingSpace = out.length > 0;
    } else if (segmentStart < 0) {
      if (pendingSpace) {
        out += ' ';
        pendingSpace = false;
      }
      segmentStart = i;
    }
  }
  return segmentStart >= 0 ? out + s.slice(segmentStart) : out;
}

/**
 * Normalises a kana name for storage and comparison:
 * 1. spacing voiced marks U+309B/U+309C become combining U+3099/U+309A (NFKC would
 *    otherwise turn them into a space plus a mark);
 * 2. NFKC: half-width katakana to full-width with dakuten composed (ﾊﾟ → パ), full-width
 *    ASCII to ASCII, U+3000 to a space;
 * 3. hiragana U+3041–U+3096 and ゝゞ to katakana by code-point shift;
 * 4. runs of spaces and tabs collapsed to one U+0020, both ends trimmed.
 *
 * Idempotent. Returns `s` itself when it is already normalised.
 *
 * Source: DOMAIN.md "The public PMH municipality API" (`nameKana` as full-width katakana).
 * @example normaliseKana('ｱｲﾁ ﾊﾅｺ') // => 'アイチ ハナコ'
 * @example normaliseKana('あいち　はなこ') // => 'アイチ ハナコ'
 */
export function normaliseKana(s: string): string {
  if (isAlreadyNormalised(s)) return s;

  let source = s;
  if (source.indexOf('\u309b') >= 0) source = source.replaceAll('\u309b', '\u3099');
  if (source.indexOf('\u309c') >= 0) source = source.replaceAll('\u309c', '\u309a');
  source = source.normalize('NFKC');

  if (scratch.length < source.length) scratch = new Uint16Array(source.length * 2);
  let length = 0;
  let pendingSpace = false;
  let shifted = false;
  let sawMark = false;
  for (let i = 0; i < source.length; i++) {
    let c = source.charCodeAt(i);
    if (isCollapsibleSpace(c)) {
      pendingSpace = length > 0;
      continue;
    }
    if (pendingSpace) {
      scratch[length++] = SPACE;
      pendingSpace = false;
    }
    if (
      (c >= HIRAGANA_FIRST && c <= HIRAGANA_LAST) ||
      c === HIRAGANA_ITERATION ||
      c === HIRAGANA_VOICED_ITERATION
    ) {
      c += HIRAGANA_TO_KATAKANA;
      shifted = true;
    } else if (c === COMBINING_VOICED_MARK || c === COMBINING_SEMI_VOICED_MARK) {
      sawMark = true;
    }
    scratch[length++] = c;
  }
  const out = decodeScratch(length);
  // A hiragana with no precomposed voiced form (わ゛) can have one as katakana (ヷ).
  return shifted && sawMark ? out.normalize('NFC') : out;
}

/**
 * True when `s`, after {@link normaliseKana}, is a non-empty name made only of full-width
 * katakana (U+30A1–U+30FA), ー, ・, ヽ, ヾ and single spaces between words.
 *
 * Source: DOMAIN.md "The public PMH municipality API" (`nameKana`, e.g. アイチハナコ).
 * @example isKatakanaName('ｱｲﾁ ﾊﾅｺ') // => true
 * @example isKatakanaName('愛知花子') // => false
 */
export function isKatakanaName(s: string): boolean {
  const n = normaliseKana(s);
  if (n.length === 0) return false;
  for (let i = 0; i < n.length; i++) {
    const c = n.charCodeAt(i);
    if (c !== SPACE && (c < KATAKANA_NAME_FIRST || c > KATAKANA_NAME_LAST)) return false;
  }
  return true;
}
