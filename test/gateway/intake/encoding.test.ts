import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { encodeCsv } from '../../../src/gateway/intake/csv-writer.js';
import {
  type CsvEncoding,
  charsetFromContentType,
  createEncodingSniffer,
  decodeChunks,
} from '../../../src/gateway/intake/encoding.js';

const sjisDecoder = new TextDecoder('shift_jis');

function cp932(text: string): Uint8Array {
  return new Uint8Array(iconv.encode(text, 'cp932'));
}

function splitBytes(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const positions = cuts.map((cut) => cut % (bytes.length + 1)).sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const position of positions) {
    chunks.push(bytes.subarray(from, position));
    from = position;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

async function* fromArray<T>(items: readonly T[]): AsyncIterable<T> {
  for (const item of items) yield item;
}

async function decodeAll(chunks: readonly Uint8Array[], encoding: CsvEncoding): Promise<string[]> {
  const pieces: string[] = [];
  for await (const piece of decodeChunks(fromArray(chunks), encoding)) pieces.push(piece);
  return pieces;
}

function sniff(chunks: readonly Uint8Array[]): CsvEncoding {
  const sniffer = createEncodingSniffer();
  for (const chunk of chunks) sniffer.push(chunk);
  return sniffer.result();
}

/**
 * Characters that survive iconv-lite CP932 encoding followed by WHATWG shift_jis decoding: printable ASCII,
 * half-width kana and every double-byte code (JIS X 0208, NEC specials, IBM extensions) that round-trips.
 */
const CP932_SAFE: readonly string[] = (() => {
  const chars = new Set<string>();
  const add = (ch: string): void => {
    if (ch !== '\uFFFD' && ch.length > 0 && sjisDecoder.decode(cp932(ch)) === ch) chars.add(ch);
  };
  for (let code = 0x20; code < 0x7f; code++) add(String.fromCharCode(code));
  for (let byte = 0xa1; byte <= 0xdf; byte++) add(sjisDecoder.decode(new Uint8Array([byte])));
  for (let lead = 0x81; lead <= 0xfc; lead++) {
    if (lead >= 0xa0 && lead < 0xe0) continue;
    for (let trail = 0x40; trail <= 0xfc; trail++) {
      if (trail !== 0x7f) add(sjisDecoder.decode(new Uint8Array([lead, trail])));
    }
  }
  return [...chars];
})();

/** Double-byte CP932 characters whose lead byte is 0x81–0x9F: a UTF-8 continuation byte, never a start. */
const CP932_LOW_LEAD: readonly string[] = CP932_SAFE.filter((ch) => {
  const lead = cp932(ch)[0] ?? 0;
  return lead >= 0x81 && lead <= 0x9f;
});

const ASCII: readonly string[] = CP932_SAFE.filter((ch) => ch.charCodeAt(0) < 0x80);

describe('charsetFromContentType', () => {
  it.each([
    ['text/csv; charset=utf-8', 'utf-8'],
    ['text/csv;charset=UTF8', 'utf-8'],
    ['text/csv; Charset="UTF-8"', 'utf-8'],
    ['text/csv; charset=Shift_JIS', 'shift_jis'],
    ['text/csv; charset=shift-jis', 'shift_jis'],
    ['text/csv; charset=SJIS', 'shift_jis'],
    ['text/csv; charset=cp932', 'shift_jis'],
    ['text/csv; charset=Windows-31J', 'shift_jis'],
    ['text/csv; charset=MS932', 'shift_jis'],
    ['text/csv; charset=x-sjis', 'shift_jis'],
    ['text/csv; header=present; charset=windows-31j', 'shift_jis'],
    ['text/csv; charset=euc-jp', 'unsupported'],
    ['text/csv; charset=iso-2022-jp', 'unsupported'],
    ['text/csv', undefined],
    ['text/csv; header=present', undefined],
    ['text/csv; charset=', undefined],
  ] as const)('reads %j as %j', (header, expected) => {
    expect(charsetFromContentType(header)).toBe(expected);
  });

  it('returns undefined without a header', () => {
    expect(charsetFromContentType(undefined)).toBeUndefined();
  });
});

describe('createEncodingSniffer', () => {
  it('says utf-8 for pure ASCII and for an empty body', () => {
    expect(sniff([new TextEncoder().encode('id,name\r\n1,abc\r\n')])).toBe('utf-8');
    expect(sniff([])).toBe('utf-8');
  });

  it('says utf-8 for Japanese UTF-8 split inside a character', () => {
    const bytes = new TextEncoder().encode('山田,①');
    expect(sniff([bytes.subarray(0, 1), bytes.subarray(1, 4), bytes.subarray(4)])).toBe('utf-8');
  });

  it('says shift_jis for CP932 kanji and kana', () => {
    expect(sniff([cp932('山田 太郎,ヤマダ,ﾔﾏﾀﾞ,①\r\n')])).toBe('shift_jis');
  });

  it('says shift_jis when a UTF-8 sequence is truncated at the very end', () => {
    const bytes = new TextEncoder().encode('a,山');
    expect(sniff([bytes.subarray(0, bytes.length - 1)])).toBe('shift_jis');
  });

  it('says utf-8 for a BOM even if invalid bytes follow, also with the BOM split across chunks', () => {
    expect(sniff([new Uint8Array([0xef, 0xbb, 0xbf]), cp932('山田')])).toBe('utf-8');
    expect(
      sniff([new Uint8Array([0xef]), new Uint8Array([]), new Uint8Array([0xbb, 0xbf, 0x82, 0xa0])]),
    ).toBe('utf-8');
  });

  it('stays shift_jis once invalid, whatever follows, and gives the same answer when asked again', () => {
    const sniffer = createEncodingSniffer();
    sniffer.push(cp932('あ'));
    sniffer.push(new TextEncoder().encode('valid'));
    expect(sniffer.result()).toBe('shift_jis');
    expect(sniffer.result()).toBe('shift_jis');
  });

  it('says utf-8 for any valid UTF-8 split anywhere (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.array(fc.nat(), { maxLength: 8 }), (text, cuts) => {
        expect(sniff(splitBytes(new TextEncoder().encode(text), cuts))).toBe('utf-8');
      }),
      { numRuns: 500 },
    );
  });

  it('says shift_jis for CP932 text with a kana or kanji of lead byte 0x81–0x9F, split anywhere (property)', () => {
    const text = fc
      .tuple(
        fc.array(fc.constantFrom(...ASCII, ...CP932_LOW_LEAD), { maxLength: 20 }),
        fc.constantFrom(...CP932_LOW_LEAD),
        fc.array(fc.constantFrom(...ASCII, ...CP932_LOW_LEAD), { maxLength: 20 }),
      )
      .map(([before, ch, after]) => [...before, ch, ...after].join(''));
    fc.assert(
      fc.property(text, fc.array(fc.nat(), { maxLength: 8 }), (input, cuts) => {
        expect(sniff(splitBytes(cp932(input), cuts))).toBe('shift_jis');
      }),
      { numRuns: 500 },
    );
  });

  it('agrees with a whole-buffer UTF-8 check for any CP932 text split anywhere (property)', () => {
    // Some CP932 byte runs (e.g. half-width kana ﾂｱ = C2 B1) are also valid UTF-8; only that case says utf-8.
    const text = fc.array(fc.constantFrom(...CP932_SAFE), { maxLength: 30 }).map((chars) => chars.join(''));
    fc.assert(
      fc.property(text, fc.array(fc.nat(), { maxLength: 8 }), (input, cuts) => {
        const bytes = cp932(input);
        expect(sniff(splitBytes(bytes, cuts))).toBe(isUtf8(bytes) ? 'utf-8' : 'shift_jis');
      }),
      { numRuns: 500 },
    );
  });
});

describe('decodeChunks', () => {
  it('decodes CP932 including NEC specials, IBM extensions, half-width kana and the full-width tilde', async () => {
    const text = '①Ⅱ㈱髙﨑ｱｲｳ～ー－あ漢字';
    expect((await decodeAll([cp932(text)], 'shift_jis')).join('')).toBe(text);
  });

  it('decodes a CP932 character split across chunks', async () => {
    const bytes = cp932('山田');
    expect(
      (await decodeAll([bytes.subarray(0, 1), bytes.subarray(1, 3), bytes.subarray(3)], 'shift_jis')).join(
        '',
      ),
    ).toBe('山田');
  });

  it('strips a UTF-8 BOM, also when it is split across chunks', async () => {
    const bytes = new TextEncoder().encode('\uFEFFa,b');
    expect((await decodeAll([bytes], 'utf-8')).join('')).toBe('a,b');
    expect(
      (await decodeAll([bytes.subarray(0, 1), new Uint8Array([]), bytes.subarray(1)], 'utf-8')).join(''),
    ).toBe('a,b');
  });

  it('keeps a U+FEFF that is not at the start', async () => {
    expect((await decodeAll([new TextEncoder().encode('a\uFEFFb')], 'utf-8')).join('')).toBe('a\uFEFFb');
  });

  it('turns invalid and truncated bytes into U+FFFD instead of failing', async () => {
    expect((await decodeAll([new Uint8Array([0x61, 0xff, 0x62])], 'utf-8')).join('')).toBe('a\uFFFDb');
    expect((await decodeAll([new Uint8Array([0x61, 0xe5, 0xb1])], 'utf-8')).join('')).toBe('a\uFFFD');
    expect((await decodeAll([new Uint8Array([0x61, 0x88])], 'shift_jis')).join('')).toBe('a\uFFFD');
  });

  it('never yields empty strings', async () => {
    const bytes = new TextEncoder().encode('山');
    const pieces = await decodeAll([new Uint8Array([]), bytes.subarray(0, 1), bytes.subarray(1)], 'utf-8');
    expect(pieces).toEqual(['山']);
  });

  it('gives back any CP932 text split at any byte positions (property)', async () => {
    const safeJapanese = fc.constantFrom(
      ...CP932_SAFE.filter((ch) => ch.charCodeAt(0) >= 0x80),
      '①',
      '～',
      '髙',
      'ｱ',
      'ﾟ',
    );
    const text = fc
      .array(fc.oneof(safeJapanese, fc.constantFrom(...ASCII)), { maxLength: 40 })
      .map((chars) => chars.join(''));
    await fc.assert(
      fc.asyncProperty(text, fc.array(fc.nat(), { maxLength: 10 }), async (input, cuts) => {
        expect((await decodeAll(splitBytes(cp932(input), cuts), 'shift_jis')).join('')).toBe(input);
      }),
      { numRuns: 500 },
    );
  });
});

describe('encodeCsv', () => {
  it('writes UTF-8 without a BOM', () => {
    expect([...encodeCsv('あ,1\r\n', 'utf-8')]).toEqual([0xe3, 0x81, 0x82, 0x2c, 0x31, 0x0d, 0x0a]);
  });

  it('writes CP932 including NEC specials and the full-width tilde', () => {
    expect([...encodeCsv('①～ｱ', 'shift_jis')]).toEqual([0x87, 0x40, 0x81, 0x60, 0xb1]);
  });

  it('writes ? for a character CP932 cannot represent', () => {
    expect(sjisDecoder.decode(encodeCsv('a😀b', 'shift_jis'))).toBe('a?b');
  });

  it('sanity: the CP932-safe character list covers kanji, kana, half-width kana and NEC specials', () => {
    for (const ch of ['亜', '漢', 'あ', 'ア', 'ｱ', '①', '～', '髙', '﨑', 'Ⅰ'])
      expect(CP932_SAFE).toContain(ch);
    expect(CP932_LOW_LEAD).toContain('あ');
    expect(CP932_LOW_LEAD).toContain('①');
  });
});
