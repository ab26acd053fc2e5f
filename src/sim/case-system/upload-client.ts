/**
 * The simulated case system (医療費助成事務システム) as a client of the gateway: writes a
 * linkage file, uploads it, follows its processing and checks that exactly the planted bad
 * rows were rejected. Small functions, wired by `cli.ts`.
 *
 * Source: DOMAIN.md "Flows" 1 (Register); src/gateway/intake/intake.routes.ts (API).
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Dispatcher, request } from 'undici';
import type { CsvEncoding } from '../../gateway/index.js';
import {
  type CliContext,
  type CliSpec,
  gatewayUrlFrom,
  isoDateOption,
  parseArgsOrUsage,
  UsageError,
} from '../cli/index.js';
import { fiscalYearOf } from '../population/index.js';
import { type PlantedBadRow, writeLinkageFile } from './linkage-file.js';

export { UsageError };

// ---------------------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------------------

/** Usage text of `npm run sim:case-system`. */
export const USAGE = `Usage: npm run sim:case-system -- --subjects N [options]

  --subjects N          data rows to write (required)
  --encoding E          cp932 (default) or utf-8
  --bad N               rows to corrupt, placed from the seed (default 0)
  --seed S              population seed (default 1)
  --reference-date D    YYYY-MM-DD: entitlements run over the fiscal year (April–March)
                        containing it (default: today in Japan); any date of one fiscal
                        year gives the same file, so a re-run changes nothing
  --era-dates           write dates as 和暦 (R07.04.01, 令和7年4月1日, 5070401)
  --url URL             gateway base URL (default http://$HOST:$PORT from the environment,
                        as \`npm start\` listens; else http://127.0.0.1:3000)
  --token T             bearer token (default: from $DATA_DIR/demo-credentials.json)
  --tenant CODE         municipality code of the demo tenant to take the token from
  --file PATH           write the file here (kept) instead of a temp dir
  --keep                keep the temp file
  --help                this text
`;

/** Parsed command line of the case-system simulator. */
export interface CliOptions {
  subjects: number;
  encoding: CsvEncoding;
  bad: number;
  seed: string;
  /** Entitlements run over the fiscal year containing it (absent: the population's default). */
  referenceDate?: string;
  eraDates: boolean;
  url: string;
  token?: string;
  tenant?: string;
  file?: string;
  keep: boolean;
  help: boolean;
}

const ENCODINGS: Readonly<Record<string, CsvEncoding>> = {
  cp932: 'shift_jis',
  shift_jis: 'shift_jis',
  'shift-jis': 'shift_jis',
  sjis: 'shift_jis',
  'windows-31j': 'shift_jis',
  'utf-8': 'utf-8',
  utf8: 'utf-8',
};

function nonNegativeInt(name: string, value: string): number {
  if (!/^[0-9]+$/.test(value))
    throw new UsageError(`--${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
  return Number(value);
}

/**
 * Reads the command line (without `node` and the script). `--url` defaults to the gateway of
 * `context.env` (HOST, PORT), `--reference-date` to `context.today`.
 *
 * @throws UsageError on unknown options or bad values.
 * @example
 * parseCliArgs(['--subjects', '1000', '--bad', '5']); // { subjects: 1000, bad: 5, encoding: 'shift_jis', … }
 */
export function parseCliArgs(argv: readonly string[], context: Partial<CliContext> = {}): CliOptions {
  const { values } = parseArgsOrUsage({
    args: [...argv],
    options: {
      subjects: { type: 'string' },
      encoding: { type: 'string', default: 'cp932' },
      bad: { type: 'string', default: '0' },
      seed: { type: 'string', default: '1' },
      'reference-date': { type: 'string' },
      'era-dates': { type: 'boolean', default: false },
      url: { type: 'string' },
      token: { type: 'string' },
      tenant: { type: 'string' },
      file: { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const help = values.help;
  if (values.subjects === undefined && !help) throw new UsageError('--subjects is required');
  const subjects = values.subjects === undefined ? 0 : nonNegativeInt('subjects', values.subjects);
  if (!help && subjects < 1) throw new UsageError('--subjects must be at least 1');
  const encodingText = values.encoding.toLowerCase();
  const encoding = ENCODINGS[encodingText];
  if (!encoding)
    throw new UsageError(`--encoding must be cp932 or utf-8, got ${JSON.stringify(encodingText)}`);
  const bad = nonNegativeInt('bad', values.bad);
  if (!help && bad > subjects) throw new UsageError(`--bad (${bad}) cannot exceed --subjects (${subjects})`);
  if (help)
    return { subjects, encoding, bad, seed: values.seed, eraDates: false, url: '', keep: false, help };
  const url = (values.url ?? gatewayUrlFrom(context.env ?? {})).replace(/\/+$/, '');
  if (!/^https?:\/\//.test(url))
    throw new UsageError(`--url must be an http(s) URL, got ${JSON.stringify(url)}`);
  const referenceDate =
    values['reference-date'] !== undefined
      ? isoDateOption('reference-date', values['reference-date'])
      : context.today;
  const options: CliOptions = {
    subjects,
    encoding,
    bad,
    seed: values.seed,
    ...(referenceDate !== undefined ? { referenceDate } : {}),
    eraDates: values['era-dates'],
    url,
    keep: values.keep,
    help,
  };
  if (values.token !== undefined) options.token = values.token;
  if (values.tenant !== undefined) options.tenant = values.tenant;
  if (values.file !== undefined) options.file = values.file;
  return options;
}

/** The `npm run sim:case-system` command line (see `runCli`). */
export const CASE_SYSTEM_CLI: CliSpec<CliOptions> = {
  command: 'sim:case-system',
  usage: USAGE,
  parse: parseCliArgs,
};

// ---------------------------------------------------------------------------------------
// Token
// ---------------------------------------------------------------------------------------

interface DemoCredentials {
  tenants?: { municipalityCode?: string; businessId?: string; token?: string; scopes?: string[] }[];
}

/**
 * The bearer token: `--token`, else the demo credentials the gateway wrote to
 * `$DATA_DIR/demo-credentials.json` (DATA_DIR default `./data`): the tenant named by
 * `--tenant`, else the first.
 *
 * @throws Error when the file is missing or holds no matching tenant.
 * @example
 * await resolveToken({ tenant: '140007' }, process.env);
 */
export async function resolveToken(
  opts: { token?: string | undefined; tenant?: string | undefined },
  env: Readonly<Record<string, string | undefined>>,
): Promise<string> {
  if (opts.token) return opts.token;
  const file = path.join(env.DATA_DIR || './data', 'demo-credentials.json');
  let credentials: DemoCredentials;
  try {
    credentials = JSON.parse(await readFile(file, 'utf8')) as DemoCredentials;
  } catch (error) {
    throw new Error(`no --token and cannot read ${file}: ${(error as Error).message}`);
  }
  const tenants = credentials.tenants ?? [];
  const chosen = opts.tenant ? tenants.find((t) => t.municipalityCode === opts.tenant) : tenants[0];
  if (!chosen?.token) {
    const known = tenants.map((t) => t.municipalityCode).join(', ') || 'none';
    throw new Error(
      opts.tenant
        ? `no tenant ${opts.tenant} in ${file} (tenants: ${known})`
        : `no tenant with a token in ${file}`,
    );
  }
  return chosen.token;
}

// ---------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------

/** The counts of a linkage file (`LinkageFile.counts`). */
export interface LinkageCounts {
  created: number;
  updated: number;
  unchanged: number;
  deleted: number;
  notFound: number;
  rejected: number;
  /** Rows waiting for a remote PMH's answer (absent from older gateways). */
  queued?: number;
  /** Rows whose delivery to a remote PMH was given up. */
  givenUp?: number;
}

/** One row outcome of a linkage file. */
export interface LinkageRowView {
  rowNo: number;
  line: number;
  outcome: string;
  subjectId: string | null;
  errors?: { index?: number; pointer: string; code: string }[];
}

/** The parts of the gateway's `LinkageFile` answer the simulator reads. */
export interface LinkageFileView {
  linkageFileId: string;
  fileName?: string;
  status: string;
  totalRows: number | null;
  processedRows: number;
  counts: LinkageCounts;
  failure?: string | null;
  rows: LinkageRowView[];
  nextAfter: number | null;
}

/** An RFC 9457 problem answer as the gateway sends it. */
export interface ProblemView {
  type?: string;
  title?: string;
  status?: number;
  code?: string;
  detail?: string;
  requestId?: string;
  errors?: { index?: number; pointer: string; code: string }[];
}

/** A request that did not give the expected answer. */
export class GatewayError extends Error {
  override name = 'GatewayError';
  constructor(
    readonly status: number,
    readonly problem: ProblemView | undefined,
    readonly bodyText: string,
  ) {
    super(problem?.title ?? `HTTP ${status}`);
  }
}

/** Connection settings shared by the calls. */
export interface GatewayClient {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:3000`. */
  url: string;
  token: string;
  dispatcher?: Dispatcher;
}

async function readAnswer<T>(res: Dispatcher.ResponseData, expected: number): Promise<T> {
  const text = await res.body.text();
  if (res.statusCode === expected) return JSON.parse(text) as T;
  let problem: ProblemView | undefined;
  const contentType = String(res.headers['content-type'] ?? '');
  if (contentType.includes('json')) {
    try {
      problem = JSON.parse(text) as ProblemView;
    } catch {
      problem = undefined;
    }
  }
  throw new GatewayError(res.statusCode, problem, text);
}

/**
 * Uploads a linkage file as the raw request body (`POST /api/v1/linkage-files`) and
 * returns the 202 answer.
 *
 * @throws GatewayError for any other status (with the problem+json body when there is one).
 * @example
 * const view = await uploadLinkageFile(client, { path: 'out.csv', encoding: 'shift_jis' });
 */
export async function uploadLinkageFile(
  client: GatewayClient,
  file: { path: string; encoding: CsvEncoding; fileName?: string },
): Promise<LinkageFileView> {
  const fileName = file.fileName ?? path.basename(file.path);
  const size = (await stat(file.path)).size;
  const charset = file.encoding === 'shift_jis' ? 'Shift_JIS' : 'utf-8';
  const res = await request(`${client.url}/api/v1/linkage-files?fileName=${encodeURIComponent(fileName)}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${client.token}`,
      'content-type': `text/csv; charset=${charset}`,
      'content-length': String(size),
      accept: 'application/json',
    },
    body: createReadStream(file.path),
    ...(client.dispatcher ? { dispatcher: client.dispatcher } : {}),
  });
  return readAnswer<LinkageFileView>(res, 202);
}

/**
 * Reads a linkage file's status and one page of rows (`GET /api/v1/linkage-files/{id}`).
 *
 * @example
 * await getLinkageFile(client, id, { limit: 0 });
 */
export async function getLinkageFile(
  client: GatewayClient,
  id: string,
  query: { limit?: number; after?: number; outcome?: 'rejected' } = {},
): Promise<LinkageFileView> {
  const params = new URLSearchParams();
  if (query.outcome) params.set('outcome', query.outcome);
  if (query.after !== undefined) params.set('after', String(query.after));
  if (query.limit !== undefined) params.set('limit', String(query.limit));
  const qs = params.toString();
  const res = await request(
    `${client.url}/api/v1/linkage-files/${encodeURIComponent(id)}${qs ? `?${qs}` : ''}`,
    {
      method: 'GET',
      headers: { authorization: `Bearer ${client.token}`, accept: 'application/json' },
      ...(client.dispatcher ? { dispatcher: client.dispatcher } : {}),
    },
  );
  return readAnswer<LinkageFileView>(res, 200);
}

/** True once a linkage file will not change any more. */
export function isFinished(status: string): boolean {
  return status === 'completed' || status === 'failed';
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Polls `GET …?limit=0` every `intervalMs` until the file is completed or failed (and, with a
 * remote PMH, no row waits for PMH's answer any more), calling
 * `onProgress` with each answer. Up to `maxErrors` consecutive network errors are retried;
 * a problem answer (4xx/5xx) ends the polling at once.
 *
 * @example
 * const final = await pollUntilFinished(client, id, { onProgress: (v) => bar.update(v) });
 */
export async function pollUntilFinished(
  client: GatewayClient,
  id: string,
  opts: { intervalMs?: number; maxErrors?: number; onProgress?: (view: LinkageFileView) => void } = {},
): Promise<LinkageFileView> {
  const intervalMs = opts.intervalMs ?? 500;
  const maxErrors = opts.maxErrors ?? 5;
  let errors = 0;
  for (;;) {
    let view: LinkageFileView | undefined;
    try {
      view = await getLinkageFile(client, id, { limit: 0 });
      errors = 0;
    } catch (error) {
      if (error instanceof GatewayError || ++errors > maxErrors) throw error;
    }
    if (view) {
      opts.onProgress?.(view);
      // With a remote PMH the file is read before PMH has answered for every row: wait for that too.
      if (isFinished(view.status) && !((view.counts.queued ?? 0) > 0)) return view;
    }
    await sleep(intervalMs);
  }
}

/** A rejected row with its error codes. */
export interface RejectedRow {
  rowNo: number;
  line: number;
  errors: { pointer: string; code: string }[];
}

/**
 * Every rejected row of a linkage file, following `nextAfter` page by page
 * (`?outcome=rejected&limit=1000`).
 *
 * @example
 * const rejected = await fetchRejectedRows(client, id);
 */
export async function fetchRejectedRows(
  client: GatewayClient,
  id: string,
  pageSize = 1000,
): Promise<RejectedRow[]> {
  const out: RejectedRow[] = [];
  let after = 0;
  for (;;) {
    const page = await getLinkageFile(client, id, { outcome: 'rejected', limit: pageSize, after });
    for (const row of page.rows) {
      if (row.outcome !== 'rejected') continue;
      out.push({
        rowNo: row.rowNo,
        line: row.line,
        errors: (row.errors ?? []).map((e) => ({ pointer: e.pointer, code: e.code })),
      });
    }
    if (page.nextAfter === null || page.nextAfter === undefined || page.nextAfter <= after) return out;
    after = page.nextAfter;
  }
}

// ---------------------------------------------------------------------------------------
// Checking and reporting
// ---------------------------------------------------------------------------------------

/** How the rejected rows compare with the planted bad rows. */
export interface RejectionComparison {
  /** True when the rejected row numbers are exactly the planted ones. */
  same: boolean;
  /** Planted but not rejected. */
  missing: number[];
  /** Rejected but not planted. */
  unexpected: number[];
  /** Planted and rejected, but without the planted kind among the codes. */
  otherCodes: { rowNo: number; expected: string; actual: string[] }[];
}

/**
 * Compares the rejected rows with the planted bad rows, by row number (and, as a note,
 * by error code: each planted kind is the code the gateway should answer).
 *
 * @example
 * compareRejected([{ rowNo: 3, kind: 'invalid-kana' }], [{ rowNo: 3, line: 4, errors: [{ pointer: '/basicFiveInfo/nameKana', code: 'invalid-kana' }] }]).same; // true
 */
export function compareRejected(
  planted: readonly PlantedBadRow[],
  rejected: readonly RejectedRow[],
): RejectionComparison {
  const byRow = new Map(rejected.map((r) => [r.rowNo, r]));
  const plantedRows = new Set(planted.map((p) => p.rowNo));
  const missing = planted.filter((p) => !byRow.has(p.rowNo)).map((p) => p.rowNo);
  const unexpected = rejected.filter((r) => !plantedRows.has(r.rowNo)).map((r) => r.rowNo);
  const otherCodes: RejectionComparison['otherCodes'] = [];
  for (const p of planted) {
    const r = byRow.get(p.rowNo);
    if (r && !r.errors.some((e) => e.code === p.kind)) {
      otherCodes.push({ rowNo: p.rowNo, expected: p.kind, actual: r.errors.map((e) => e.code) });
    }
  }
  return { same: missing.length === 0 && unexpected.length === 0, missing, unexpected, otherCodes };
}

const int = new Intl.NumberFormat('en-US');
const fmtInt = (n: number) => int.format(Math.round(n));
const fmtSeconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const rate = (rows: number, ms: number) => (ms > 0 ? (rows * 1000) / ms : 0);

/**
 * One progress line: bar, rows done / total, percent, rows per second, status.
 *
 * @example
 * formatProgress({ processed: 500, total: 1000, elapsedMs: 2000, status: 'processing' });
 * // '[##########----------]  500 / 1,000  50.0%  250 rows/s  processing'
 */
export function formatProgress(p: {
  processed: number;
  total: number;
  elapsedMs: number;
  status: string;
}): string {
  const width = 20;
  const fraction = p.total > 0 ? Math.min(1, p.processed / p.total) : 0;
  const filled = Math.round(fraction * width);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
  return `${bar}  ${fmtInt(p.processed)} / ${fmtInt(p.total)}  ${(fraction * 100).toFixed(1)}%  ${fmtInt(
    rate(p.processed, p.elapsedMs),
  )} rows/s  ${p.status}`;
}

/** A writable text sink such as `process.stderr`. */
export interface TextSink {
  write(text: string): unknown;
  isTTY?: boolean;
}

/**
 * Renders progress on `sink`: rewritten in place with `\r` on a TTY, otherwise one plain
 * line every `plainEveryMs` (and on the final update).
 *
 * @example
 * const progress = createProgressReporter(process.stderr, 100_000, Date.now);
 * progress.update(view); progress.finish();
 */
export function createProgressReporter(
  sink: TextSink,
  expectedRows: number,
  now: () => number = Date.now,
  plainEveryMs = 5000,
): { update(view: LinkageFileView): void; finish(): void } {
  const started = now();
  let lastPlain = -Infinity;
  let lastLine = '';
  let drawn = false;
  return {
    update(view) {
      const t = now();
      const line = formatProgress({
        processed: view.processedRows,
        total: view.totalRows ?? expectedRows,
        elapsedMs: t - started,
        status: view.status,
      });
      if (sink.isTTY) {
        const pad = lastLine.length > line.length ? ' '.repeat(lastLine.length - line.length) : '';
        sink.write(`\r${line}${pad}`);
        drawn = true;
      } else if (t - lastPlain >= plainEveryMs || isFinished(view.status)) {
        sink.write(`${line}\n`);
        lastPlain = t;
      }
      lastLine = line;
    },
    finish() {
      if (drawn) sink.write('\n');
      drawn = false;
    },
  };
}

/**
 * The text of a problem answer: status, title, code, detail and field errors.
 *
 * @example
 * formatProblem(new GatewayError(401, { title: '認証が必要です', code: 'unauthorized' }, ''));
 */
export function formatProblem(error: GatewayError): string {
  const p = error.problem;
  if (!p) return `HTTP ${error.status}: ${error.bodyText.slice(0, 500)}`;
  const lines = [`HTTP ${error.status}: ${p.title ?? '(no title)'} (code ${p.code ?? 'unknown'})`];
  if (p.detail) lines.push(`  ${p.detail}`);
  if (p.requestId) lines.push(`  request id ${p.requestId}`);
  for (const e of p.errors ?? []) {
    lines.push(`  ${e.index !== undefined ? `[${e.index}] ` : ''}${e.pointer || '(record)'}: ${e.code}`);
  }
  return lines.join('\n');
}

/** Timings of one run, in milliseconds. */
export interface RunTimings {
  writeMs: number;
  uploadMs: number;
  processingMs: number;
}

/**
 * The summary printed at the end of a run: counts, timings, rejected rows with codes,
 * planted rows, and the verdict.
 *
 * @example
 * formatSummary(view, rejected, planted, compareRejected(planted, rejected), timings);
 */
export function formatSummary(
  view: LinkageFileView,
  rejected: readonly RejectedRow[],
  planted: readonly PlantedBadRow[],
  comparison: RejectionComparison,
  timings: RunTimings,
): string {
  const c = view.counts;
  const rows = view.totalRows ?? view.processedRows;
  const total = timings.writeMs + timings.uploadMs + timings.processingMs;
  const lines = [
    `linkage file ${view.linkageFileId}${view.fileName ? ` (${view.fileName})` : ''}: ${view.status}${
      view.failure ? ` (${view.failure})` : ''
    }`,
    `rows ${fmtInt(rows)}: created ${fmtInt(c.created)}, updated ${fmtInt(c.updated)}, unchanged ${fmtInt(
      c.unchanged,
    )}, deleted ${fmtInt(c.deleted)}, notFound ${fmtInt(c.notFound)}, rejected ${fmtInt(c.rejected)}${
      c.givenUp ? `, given up (remote PMH) ${fmtInt(c.givenUp)}` : ''
    }`,
    `elapsed ${fmtSeconds(total)} (write ${fmtSeconds(timings.writeMs)}, upload ${fmtSeconds(
      timings.uploadMs,
    )}, processing ${fmtSeconds(timings.processingMs)}); ${fmtInt(rate(rows, timings.processingMs))} rows/s processed`,
  ];
  lines.push(`rejected rows (${rejected.length}):`);
  for (const r of rejected) {
    const codes =
      r.errors.map((e) => `${e.code}${e.pointer ? ` ${e.pointer}` : ''}`).join(', ') || '(no code)';
    lines.push(`  row ${r.rowNo} (line ${r.line}): ${codes}`);
  }
  lines.push(`planted bad rows (${planted.length}):`);
  for (const p of planted) lines.push(`  row ${p.rowNo}: ${p.kind}`);
  if (comparison.same) lines.push('OK: the rejected rows are exactly the planted bad rows');
  else {
    lines.push('MISMATCH: the rejected rows differ from the planted bad rows');
    if (comparison.missing.length) lines.push(`  planted but not rejected: ${comparison.missing.join(', ')}`);
    if (comparison.unexpected.length)
      lines.push(`  rejected but not planted: ${comparison.unexpected.join(', ')}`);
  }
  for (const o of comparison.otherCodes) {
    lines.push(
      `note: row ${o.rowNo} was planted as ${o.expected} but rejected with ${o.actual.join(', ') || 'no code'}`,
    );
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------

/** Where a run writes and what it reads. */
export interface RunIo {
  stdout: TextSink;
  stderr: TextSink;
  env: Readonly<Record<string, string | undefined>>;
  now?: () => number;
  pollIntervalMs?: number;
  dispatcher?: Dispatcher;
}

function timestamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/**
 * Writes, uploads and follows one linkage file; returns the exit code: 0 when the file
 * completed and the rejected rows are exactly the planted ones, 1 otherwise (upload
 * refused, file failed, rows differ, network error).
 *
 * @example
 * process.exitCode = await runCaseSystem(parseCliArgs(process.argv.slice(2)), { stdout: process.stdout, stderr: process.stderr, env: process.env });
 */
export async function runCaseSystem(opts: CliOptions, io: RunIo): Promise<number> {
  const now = io.now ?? Date.now;
  const err = (s: string) => io.stderr.write(`${s}\n`);
  let token: string;
  try {
    token = await resolveToken(opts, io.env);
  } catch (error) {
    err(`error: ${(error as Error).message}`);
    return 1;
  }
  const client: GatewayClient = {
    url: opts.url,
    token,
    ...(io.dispatcher ? { dispatcher: io.dispatcher } : {}),
  };

  const tempDir = opts.file ? undefined : await mkdtemp(path.join(tmpdir(), 'pmh-case-system-'));
  const filePath = opts.file ?? path.join(tempDir as string, `linkage-${timestamp(new Date(now()))}.csv`);
  try {
    const t0 = now();
    const fiscalYear = opts.referenceDate ? fiscalYearOf(opts.referenceDate) : undefined;
    err(
      `writing ${fmtInt(opts.subjects)} rows (${opts.encoding === 'shift_jis' ? 'CP932' : 'UTF-8'}, seed ${opts.seed}, ${opts.bad} bad${fiscalYear ? `, entitlements ${fiscalYear.from}〜${fiscalYear.to}` : ''}) to ${filePath}`,
    );
    const written = await writeLinkageFile({
      path: filePath,
      subjects: opts.subjects,
      seed: opts.seed,
      ...(opts.referenceDate !== undefined ? { referenceDate: opts.referenceDate } : {}),
      encoding: opts.encoding,
      bad: opts.bad,
      eraDates: opts.eraDates,
    });
    const t1 = now();
    err(`wrote ${fmtInt(written.bytes)} bytes in ${fmtSeconds(t1 - t0)}; uploading to ${opts.url}`);

    let accepted: LinkageFileView;
    try {
      accepted = await uploadLinkageFile(client, { path: filePath, encoding: opts.encoding });
    } catch (error) {
      err(
        `upload failed: ${error instanceof GatewayError ? formatProblem(error) : (error as Error).message}`,
      );
      return 1;
    }
    const t2 = now();
    err(`accepted as ${accepted.linkageFileId} (${accepted.status}) after ${fmtSeconds(t2 - t1)}`);

    const progress = createProgressReporter(io.stderr, written.rows, now);
    let final: LinkageFileView;
    let rejected: RejectedRow[];
    try {
      final = await pollUntilFinished(client, accepted.linkageFileId, {
        intervalMs: io.pollIntervalMs ?? 500,
        onProgress: (v) => progress.update(v),
      });
      progress.finish();
      rejected = await fetchRejectedRows(client, accepted.linkageFileId);
    } catch (error) {
      progress.finish();
      err(
        `following the file failed: ${error instanceof GatewayError ? formatProblem(error) : (error as Error).message}`,
      );
      return 1;
    }
    const t3 = now();

    const comparison = compareRejected(written.badRows, rejected);
    io.stdout.write(
      `${formatSummary(final, rejected, written.badRows, comparison, {
        writeMs: t1 - t0,
        uploadMs: t2 - t1,
        processingMs: t3 - t2,
      })}\n`,
    );
    if (opts.keep && tempDir) err(`kept ${filePath}`);
    if (final.status !== 'completed') return 1;
    return comparison.same ? 0 : 1;
  } catch (error) {
    err(`error: ${(error as Error).message}`);
    return 1;
  } finally {
    if (tempDir && !opts.keep) await rm(tempDir, { recursive: true, force: true });
  }
}
