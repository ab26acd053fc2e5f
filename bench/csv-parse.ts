import { createCsvParser, formatCsvRow, parseCsv } from '../src/gateway/intake/csv.js';
import { encodeCsv } from '../src/gateway/intake/csv-writer.js';
import { createEncodingSniffer, decodeChunks } from '../src/gateway/intake/encoding.js';

const ROWS = 1_000_000;
const COLUMNS = 30;
const CHUNK_CHARS = 64 * 1024;

/** Builds the file as ~64 KiB text chunks of short ASCII and Japanese fields, some quoted. */
function generate(): string[] {
  const names = ['山田 太郎', '佐藤 花子', 'ﾀﾅｶ ｲﾁﾛｳ', '髙橋 ①', '鈴木,次郎'];
  const chunks: string[] = [];
  let lines: string[] = [];
  let size = 0;
  const row: string[] = new Array(COLUMNS);
  for (let r = 0; r < ROWS; r++) {
    for (let c = 0; c < COLUMNS; c++) {
      row[c] =
        c === 3 ? (names[r % names.length] as string) : c === 7 ? '' : String((r * 31 + c * 7) % 100000);
    }
    const line = `${formatCsvRow(row)}\r\n`;
    lines.push(line);
    size += line.length;
    if (size >= CHUNK_CHARS) {
      chunks.push(lines.join(''));
      lines = [];
      size = 0;
    }
  }
  if (lines.length > 0) chunks.push(lines.join(''));
  return chunks;
}

function report(label: string, rows: number, ms: number): void {
  console.log(
    `${label}: ${rows} rows in ${ms.toFixed(0)} ms = ${Math.round((rows / ms) * 1000).toLocaleString('en-US')} rows/s`,
  );
}

async function* iterate<T>(items: readonly T[]): AsyncIterable<T> {
  for (const item of items) yield item;
}

const text = generate();
const chars = text.reduce((sum, chunk) => sum + chunk.length, 0);
console.log(
  `generated ${ROWS} rows x ${COLUMNS} fields, ${(chars / 1e6).toFixed(1)} M chars in ${text.length} chunks`,
);

for (let run = 1; run <= 3; run++) {
  const start = performance.now();
  const parser = createCsvParser();
  let rows = 0;
  for (const chunk of text) rows += parser.push(chunk).length;
  rows += parser.end().length;
  report(`createCsvParser (sync), run ${run}`, rows, performance.now() - start);
}

{
  const start = performance.now();
  let rows = 0;
  for await (const _record of parseCsv(iterate(text))) rows++;
  report('parseCsv (async iterator)', rows, performance.now() - start);
}

for (const encoding of ['utf-8', 'shift_jis'] as const) {
  const bytes: Uint8Array[] = text.map((chunk) => encodeCsv(chunk, encoding));
  const start = performance.now();
  const sniffer = createEncodingSniffer();
  for (const chunk of bytes) sniffer.push(chunk);
  const detected = sniffer.result();
  const sniffMs = performance.now() - start;
  const parser = createCsvParser();
  let rows = 0;
  for await (const piece of decodeChunks(iterate(bytes), detected)) rows += parser.push(piece).length;
  rows += parser.end().length;
  report(
    `${encoding} bytes: sniff (${detected}, ${sniffMs.toFixed(0)} ms) + decode + parse`,
    rows,
    performance.now() - start,
  );
}
