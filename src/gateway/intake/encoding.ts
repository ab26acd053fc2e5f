/**
 * Character encoding of an uploaded linkage file (連携ファイル).
 *
 * `'shift_jis'` means the Windows variant (CP932 / Windows-31J): the WHATWG `shift_jis` decoder used here
 * includes the NEC and IBM extensions (①, Ⅰ, 髙, …).
 *
 * @example
 * const encoding: CsvEncoding = 'shift_jis';
 */
export type CsvEncoding = 'utf-8' | 'shift_jis';

const UTF8_LABELS: ReadonlySet<string> = new Set([
  'utf-8',
  'utf8',
  'unicode-1-1-utf-8',
  'unicode11utf8',
  'unicode20utf8',
  'x-unicode20utf8',
]);

const SHIFT_JIS_LABELS: ReadonlySet<string> = new Set([
  'shift_jis',
  'shift-jis',
  'sjis',
  'cp932',
  'windows-31j',
  'ms932',
  'x-sjis',
  'csshiftjis',
  'ms_kanji',
]);

/**
 * Reads the `charset` parameter of a `Content-Type` header value.
 *
 * Parameter name and value are matched case-insensitively and the value may be quoted.
 * UTF-8 labels give `'utf-8'`; Shift_JIS / CP932 labels (`shift_jis`, `shift-jis`, `sjis`, `cp932`,
 * `windows-31j`, `ms932`, `x-sjis`, and the other WHATWG labels `csshiftjis`, `ms_kanji`) give
 * `'shift_jis'`; any other charset gives `'unsupported'`. A missing header, a missing `charset`
 * parameter or an empty `charset=` value gives `undefined` (the caller should sniff).
 *
 * @example
 * charsetFromContentType('text/csv; charset=Windows-31J'); // 'shift_jis'
 * charsetFromContentType('text/csv; charset="UTF-8"'); // 'utf-8'
 * charsetFromContentType('text/csv; charset=euc-jp'); // 'unsupported'
 * charsetFromContentType('text/csv'); // undefined
 */
export function charsetFromContentType(
  contentType: string | undefined,
): CsvEncoding | 'unsupported' | undefined {
  if (contentType === undefined) return undefined;
  const params = contentType.split(';');
  for (let k = 1; k < params.length; k++) {
    const param = params[k] ?? '';
    const eq = param.indexOf('=');
    if (eq === -1) continue;
    if (param.slice(0, eq).trim().toLowerCase() !== 'charset') continue;
    let value = param
      .slice(eq + 1)
      .trim()
      .toLowerCase();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1).trim();
    if (value === '') return undefined;
    if (UTF8_LABELS.has(value)) return 'utf-8';
    if (SHIFT_JIS_LABELS.has(value)) return 'shift_jis';
    return 'unsupported';
  }
  return undefined;
}

/**
 * Incremental encoding detector fed with every chunk of the body.
 *
 * @example
 * const sniffer = createEncodingSniffer();
 * sniffer.push(chunk);
 * sniffer.result(); // 'utf-8' | 'shift_jis'
 */
export interface EncodingSniffer {
  /** Feeds the next chunk of the body. Ignored once the answer is certain or after {@link result}. */
  push(chunk: Uint8Array): void;
  /** Final answer; call it after the last chunk (it finishes detection). Repeated calls give the same answer. */
  result(): CsvEncoding;
}

const BOM = [0xef, 0xbb, 0xbf] as const;

/**
 * Creates a sniffer deciding between UTF-8 and CP932 over the whole body.
 *
 * A UTF-8 BOM gives `'utf-8'` at once. Otherwise the answer is `'utf-8'` when the whole byte stream is
 * valid UTF-8 (pure ASCII and an empty body included), else `'shift_jis'`. Chunks may be split anywhere,
 * also inside a multi-byte sequence; a sequence left truncated at the very end makes the body invalid UTF-8.
 * Once the body is known to be invalid UTF-8 further chunks are not examined.
 *
 * @example
 * const sniffer = createEncodingSniffer();
 * sniffer.push(new Uint8Array([0xe3, 0x81]));
 * sniffer.push(new Uint8Array([0x82])); // 'あ' split across chunks
 * sniffer.result(); // 'utf-8'
 */
export function createEncodingSniffer(): EncodingSniffer {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let prefixLength = 0;
  let bomPossible = true;
  let decided: CsvEncoding | undefined;

  const checkBom = (chunk: Uint8Array): void => {
    for (let k = 0; k < chunk.length && prefixLength < BOM.length; k++, prefixLength++) {
      if (chunk[k] !== BOM[prefixLength]) {
        bomPossible = false;
        return;
      }
    }
    if (prefixLength === BOM.length) decided = 'utf-8';
  };

  return {
    push(chunk) {
      if (decided !== undefined || chunk.length === 0) return;
      if (bomPossible) {
        checkBom(chunk);
        if (decided !== undefined) return;
      }
      try {
        decoder.decode(chunk, { stream: true });
      } catch {
        decided = 'shift_jis';
      }
    },
    result() {
      if (decided === undefined) {
        try {
          decoder.decode();
          decided = 'utf-8';
        } catch {
          decided = 'shift_jis';
        }
      }
      return decided;
    },
  };
}

/**
 * Decodes a byte stream chunk by chunk into text.
 *
 * Uses the WHATWG `TextDecoder` in streaming mode, so chunks may be split inside a multi-byte character;
 * the decoder is flushed at the end. A leading U+FEFF (BOM) is removed in either encoding. Invalid bytes
 * become U+FFFD rather than failing. Empty strings are never yielded.
 *
 * @example
 * for await (const text of decodeChunks(request.body, 'shift_jis')) parser.push(text);
 */
export async function* decodeChunks(
  chunks: AsyncIterable<Uint8Array>,
  encoding: CsvEncoding,
): AsyncIterable<string> {
  const decoder = new TextDecoder(encoding, { ignoreBOM: true });
  let atStart = true;
  for await (const chunk of chunks) {
    let text = decoder.decode(chunk, { stream: true });
    if (atStart && text.length > 0) {
      atStart = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (text.length > 0) yield text;
  }
  let tail = decoder.decode();
  if (atStart && tail.charCodeAt(0) === 0xfeff) tail = tail.slice(1);
  if (tail.length > 0) yield tail;
}
