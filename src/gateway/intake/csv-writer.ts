import iconv from 'iconv-lite';
import type { CsvEncoding } from './encoding.js';

const utf8Encoder = new TextEncoder();

/**
 * Encodes CSV text for a linkage file: UTF-8 (no BOM added) or CP932 via iconv-lite.
 *
 * Characters CP932 cannot represent are written as `?` (iconv-lite's default); callers that need a BOM or a
 * line ending must include them in `text`.
 *
 * @example
 * const bytes = encodeCsv(`${formatCsvRow(['13101', '山田 太郎'])}\r\n`, 'shift_jis');
 */
export function encodeCsv(text: string, encoding: CsvEncoding): Uint8Array {
  if (encoding === 'utf-8') return utf8Encoder.encode(text);
  const buffer = iconv.encode(text, 'cp932');
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}
