/**
 * Writes a simulated case system's linkage file (連携ファイル): a CSV of register-or-update
 * rows for a synthetic population, UTF-8 or CP932, streamed to disk so that a million rows
 * never sit in memory. Bad rows are planted at positions fixed by the seed.
 *
 * Source: DOMAIN.md "Flows" 1 (linkage file), docs/LINKAGE-FILE.md (columns).
 */
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type CsvEncoding, encodeCsv, formatCsvRow } from '../../gateway/index.js';
import {
  CORRUPTION_KINDS,
  type CorruptionKind,
  corruptRecord,
  createRandom,
  fiscalYearOf,
  registrationRecords,
  toCsvHeader,
  toCsvRow,
} from '../population/index.js';

/** Options of {@link writeLinkageFile}. */
export interface LinkageFileOptions {
  /** Where to write; an existing file is replaced. */
  path: string;
  /** Number of data rows (people 0 … subjects − 1 of the seed). */
  subjects: number;
  seed: number | string;
  encoding: CsvEncoding;
  /** How many rows to corrupt (default 0); kinds cycle through {@link CORRUPTION_KINDS}. */
  bad?: number;
  /**
   * Entitlements run over the fiscal year containing this date (YYYY-MM-DD; see
   * `RecordOptions.referenceDate`; default the population's fixed DEFAULT_REFERENCE_DATE).
   */
  referenceDate?: string;
  /** Write dates as 和暦 (see `toRegistrationRecord`). */
  eraDates?: boolean;
  /** Entitlements renewed this many times (see `toRegistrationRecord`; default 0). */
  renewals?: number;
  /** People moved house this many times (see `registrationRecords`; default 0). */
  moves?: number;
  /** Every row withdraws its entitlement (see `registrationRecords`). */
  withdrawn?: boolean;
  /** Default `\r\n`. */
  lineEnding?: '\r\n' | '\n';
  /** Rows encoded and written per chunk (default 1,000). */
  chunkRows?: number;
}

/** A planted bad row: its 1-based data row number (the header is not counted) and kind. */
export interface PlantedBadRow {
  rowNo: number;
  kind: CorruptionKind;
}

/** What {@link writeLinkageFile} wrote. */
export interface LinkageFileResult {
  /** Data rows written (without the header). */
  rows: number;
  /** 1-based data row numbers of the planted bad rows, ascending. */
  badRowNos: number[];
  /** The same rows with the kind planted in each (its kind is the expected error code). */
  badRows: PlantedBadRow[];
  /** Bytes written. */
  bytes: number;
}

/**
 * The rows to corrupt: `count` distinct row numbers in 1 … `rows`, chosen from the seed
 * (Floyd's sampling), ascending, the kinds assigned in row order cycling through
 * {@link CORRUPTION_KINDS} (so five bad rows hold one of each kind).
 *
 * @throws RangeError when `count` exceeds `rows` or is negative.
 * @example
 * planBadRows(1, 100_000, 5); // [{ rowNo: 8123, kind: 'my-number-check-digit' }, …]
 */
export function planBadRows(seed: number | string, rows: number, count: number): PlantedBadRow[] {
  if (!Number.isInteger(count) || count < 0 || count > rows) {
    throw new RangeError(`planBadRows: cannot plant ${count} bad rows in ${rows} rows`);
  }
  const rng = createRandom(seed).fork('bad-rows');
  const chosen = new Set<number>();
  for (let j = rows - count + 1; j <= rows; j++) {
    const t = rng.int(1, j);
    chosen.add(chosen.has(t) ? j : t);
  }
  return [...chosen]
    .sort((a, b) => a - b)
    .map((rowNo, k) => ({ rowNo, kind: CORRUPTION_KINDS[k % CORRUPTION_KINDS.length] as CorruptionKind }));
}

/**
 * The encoded chunks of a linkage file: the header, then `chunkRows` rows per chunk.
 * Row r (1-based) is person r − 1 of the seed.
 */
function* linkageFileChunks(
  opts: LinkageFileOptions,
  badKinds: ReadonlyMap<number, CorruptionKind>,
): Generator<Uint8Array> {
  const eol = opts.lineEnding ?? '\r\n';
  const chunkRows = opts.chunkRows ?? 1000;
  let text = formatCsvRow(toCsvHeader()) + eol;
  let pending = 0;
  for (const { index, record } of registrationRecords({
    seed: opts.seed,
    size: opts.subjects,
    ...(opts.referenceDate !== undefined ? { referenceDate: opts.referenceDate } : {}),
    eraDates: opts.eraDates ?? false,
    renewals: opts.renewals ?? 0,
    moves: opts.moves ?? 0,
    withdrawn: opts.withdrawn ?? false,
  })) {
    const kind = badKinds.get(index + 1);
    text += formatCsvRow(toCsvRow(kind === undefined ? record : corruptRecord(record, kind))) + eol;
    if (++pending >= chunkRows) {
      yield encodeCsv(text, opts.encoding);
      text = '';
      pending = 0;
    }
  }
  if (text.length > 0) yield encodeCsv(text, opts.encoding);
}

/**
 * Writes a linkage file for people 0 … `subjects` − 1 of `seed`, streaming chunk by chunk
 * through `fs.createWriteStream` (backpressure respected by `pipeline`), and returns the
 * row count, the planted bad rows and the byte size. Same options → same bytes.
 *
 * @example
 * const { badRowNos } = await writeLinkageFile({ path: 'out.csv', subjects: 100_000, seed: 1, encoding: 'shift_jis', bad: 5 });
 */
export async function writeLinkageFile(opts: LinkageFileOptions): Promise<LinkageFileResult> {
  if (!Number.isInteger(opts.subjects) || opts.subjects < 0) {
    throw new RangeError(`writeLinkageFile: subjects must be a non-negative integer, got ${opts.subjects}`);
  }
  if (opts.referenceDate !== undefined) fiscalYearOf(opts.referenceDate); // throws RangeError when bad
  const badRows = planBadRows(opts.seed, opts.subjects, opts.bad ?? 0);
  const badKinds = new Map(badRows.map((b) => [b.rowNo, b.kind] as const));
  let bytes = 0;
  const chunks = linkageFileChunks(opts, badKinds);
  const counted = Readable.from(
    (function* () {
      for (const chunk of chunks) {
        bytes += chunk.byteLength;
        yield chunk;
      }
    })(),
    { objectMode: false, highWaterMark: 1 << 16 },
  );
  await pipeline(counted, createWriteStream(opts.path));
  return { rows: opts.subjects, badRowNos: badRows.map((b) => b.rowNo), badRows, bytes };
}
