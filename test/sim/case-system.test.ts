import { access, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCsvParser } from '../../src/gateway/intake/csv.js';
import { checkHeader, rowToRecord } from '../../src/gateway/intake/linkage-columns.js';
import { registrationRecordSchema } from '../../src/pmh/pmh.schemas.js';
import {
  type CliOptions,
  compareRejected,
  createProgressReporter,
  fetchRejectedRows,
  formatProgress,
  type LinkageFileView,
  parseCliArgs,
  resolveToken,
  runCaseSystem,
  UsageError,
} from '../../src/sim/case-system/upload-client.js';
import { toFieldErrors } from '../../src/validation/index.js';

interface StoredRow {
  rowNo: number;
  line: number;
  outcome: 'created' | 'rejected';
  subjectId: string | null;
  errors?: { pointer: string; code: string }[];
}

/** A stand-in for the gateway's linkage-file API that validates rows like the gateway does. */
class FakeGateway {
  server: Server;
  url = '';
  rows: StoredRow[] = [];
  polls = 0;
  contentType = '';
  authorization = '';
  fileName = '';
  /** Row numbers to reject on top of the invalid ones. */
  extraRejects = new Set<number>();
  refuseUpload = false;

  constructor() {
    this.server = createServer((req, res) => {
      this.handle(req)
        .then(({ status, body, type }) => {
          res.writeHead(status, { 'content-type': type ?? 'application/json' });
          res.end(JSON.stringify(body));
        })
        .catch((error: Error) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(error.message);
        });
    });
  }

  async start() {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop() {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  view(rows: StoredRow[], nextAfter: number | null): LinkageFileView {
    const finished = this.polls >= 2;
    const count = (o: string) => this.rows.filter((r) => r.outcome === o).length;
    return {
      linkageFileId: '00000000-0000-4000-8000-000000000001',
      fileName: this.fileName,
      status: finished ? 'completed' : 'processing',
      totalRows: finished ? this.rows.length : null,
      processedRows: finished ? this.rows.length : Math.floor(this.rows.length / 2),
      counts: {
        created: finished ? count('created') : 0,
        updated: 0,
        unchanged: 0,
        deleted: 0,
        notFound: 0,
        rejected: finished ? count('rejected') : 0,
      },
      failure: null,
      rows,
      nextAfter,
    };
  }

  async handle(req: IncomingMessage): Promise<{ status: number; body: unknown; type?: string }> {
    const url = new URL(req.url ?? '/', this.url);
    this.authorization = req.headers.authorization ?? '';
    if (this.authorization !== 'Bearer secret') {
      return {
        status: 401,
        type: 'application/problem+json',
        body: { type: '/problems/unauthorized', title: '認証が必要です', status: 401, code: 'unauthorized' },
      };
    }
    if (req.method === 'POST' && url.pathname === '/api/v1/linkage-files') {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      if (this.refuseUpload) {
        return {
          status: 422,
          type: 'application/problem+json',
          body: {
            title: '入力内容に誤りがあります',
            status: 422,
            code: 'validation-failed',
            errors: [{ index: 3, pointer: '/header/3', code: 'unknown-field' }],
          },
        };
      }
      this.contentType = req.headers['content-type'] ?? '';
      this.fileName = url.searchParams.get('fileName') ?? '';
      const charset = /charset=shift_jis/i.test(this.contentType) ? 'shift_jis' : 'utf-8';
      const text = new TextDecoder(charset).decode(Buffer.concat(chunks));
      const parser = createCsvParser();
      const [head, ...records] = [...parser.push(text), ...parser.end()];
      const header = checkHeader(head?.fields ?? []);
      if ('errors' in header) throw new Error('bad header');
      this.rows = records.map((csv, k) => {
        const { record, errors } = rowToRecord(header, csv.fields);
        const parsed = registrationRecordSchema.safeParse(record);
        const all = [...errors, ...(parsed.success ? [] : toFieldErrors(parsed.error.issues, false))];
        if (this.extraRejects.has(k + 1)) all.push({ pointer: '/myNumber', code: 'duplicate-key-in-file' });
        return all.length
          ? { rowNo: k + 1, line: csv.line, outcome: 'rejected', subjectId: null, errors: all }
          : { rowNo: k + 1, line: csv.line, outcome: 'created', subjectId: null };
      });
      this.polls = 0;
      return { status: 202, body: { ...this.view([], null), status: 'received' } };
    }
    if (req.method === 'GET' && url.pathname.startsWith('/api/v1/linkage-files/')) {
      const limit = Number(url.searchParams.get('limit') ?? 100);
      const after = Number(url.searchParams.get('after') ?? 0);
      if (limit === 0) {
        this.polls++;
        return { status: 200, body: this.view([], null) };
      }
      const pool = this.rows.filter(
        (r) =>
          r.rowNo > after && (url.searchParams.get('outcome') !== 'rejected' || r.outcome === 'rejected'),
      );
      const page = pool.slice(0, limit);
      const more = pool.length > limit;
      return { status: 200, body: this.view(page, more ? (page.at(-1)?.rowNo ?? null) : null) };
    }
    return {
      status: 404,
      type: 'application/problem+json',
      body: { title: '対象が見つかりません', code: 'not-found' },
    };
  }
}

class Sink {
  text = '';
  constructor(readonly isTTY = false) {}
  write(s: string) {
    this.text += s;
    return true;
  }
}

const gateway = new FakeGateway();
beforeAll(() => gateway.start());
afterAll(() => gateway.stop());
afterEach(() => {
  gateway.extraRejects.clear();
  gateway.refuseUpload = false;
});

function options(extra: Partial<CliOptions> = {}): CliOptions {
  return {
    ...parseCliArgs(['--subjects', '300', '--bad', '5', '--url', gateway.url, '--token', 'secret']),
    ...extra,
  };
}

async function run(opts: CliOptions) {
  const stdout = new Sink();
  const stderr = new Sink();
  const code = await runCaseSystem(opts, { stdout, stderr, env: {}, pollIntervalMs: 5 });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

describe('parseCliArgs', () => {
  it('reads the options with their defaults', () => {
    expect(parseCliArgs(['--subjects', '100000'])).toEqual({
      subjects: 100_000,
      encoding: 'shift_jis',
      bad: 0,
      seed: '1',
      eraDates: false,
      url: 'http://127.0.0.1:3000',
      keep: false,
      help: false,
    });
    const o = parseCliArgs([
      '--subjects',
      '10',
      '--encoding',
      'utf-8',
      '--bad',
      '2',
      '--tenant',
      '140007',
      '--keep',
    ]);
    expect(o).toMatchObject({ encoding: 'utf-8', bad: 2, tenant: '140007', keep: true });
  });

  it('defaults --url to the gateway of HOST and PORT, and --reference-date to today', () => {
    const today = '2027-06-15';
    expect(parseCliArgs(['--subjects', '10'], { env: { PORT: '3900' }, today })).toMatchObject({
      url: 'http://127.0.0.1:3900',
      referenceDate: today,
    });
    expect(parseCliArgs(['--subjects', '10'], { env: { HOST: '0.0.0.0', PORT: '4000' } }).url).toBe(
      'http://127.0.0.1:4000',
    );
    expect(
      parseCliArgs(['--subjects', '10', '--url', 'http://gw:8080/', '--reference-date', '2026-04-01'], {
        env: { PORT: '3900' },
        today,
      }),
    ).toMatchObject({ url: 'http://gw:8080', referenceDate: '2026-04-01' });
    expect(() => parseCliArgs(['--subjects', '1'], { env: { PORT: 'eighty' } })).toThrow(/PORT/);
    expect(() => parseCliArgs(['--subjects', '1', '--reference-date', '2026-02-30'])).toThrow(UsageError);
  });

  it('names an unknown option in one line', () => {
    expect(() => parseCliArgs(['--subjects', '5', '--wat'])).toThrow(new UsageError('unknown option --wat'));
  });

  it.each([
    [[]],
    [['--subjects', 'ten']],
    [['--subjects', '5', '--bad', '6']],
    [['--subjects', '5', '--encoding', 'latin1']],
    [['--subjects', '5', '--wat']],
  ])('refuses a bad command line %j', (argv) => {
    expect(() => parseCliArgs(argv)).toThrow(UsageError);
  });
});

describe('resolveToken', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sim-token-'));
    await writeFile(
      path.join(dir, 'demo-credentials.json'),
      JSON.stringify({
        tenants: [
          { municipalityCode: '130001', businessId: 'jiritsu-seishin', token: 'tokyo', scopes: [] },
          { municipalityCode: '140007', businessId: 'jiritsu-seishin', token: 'kanagawa', scopes: [] },
        ],
      }),
    );
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('prefers --token, else takes the first tenant or the one named by --tenant', async () => {
    expect(await resolveToken({ token: 'given' }, { DATA_DIR: dir })).toBe('given');
    expect(await resolveToken({}, { DATA_DIR: dir })).toBe('tokyo');
    expect(await resolveToken({ tenant: '140007' }, { DATA_DIR: dir })).toBe('kanagawa');
  });

  it('explains a missing tenant or file', async () => {
    await expect(resolveToken({ tenant: '999999' }, { DATA_DIR: dir })).rejects.toThrow(/no tenant 999999/);
    await expect(resolveToken({}, { DATA_DIR: path.join(dir, 'nope') })).rejects.toThrow(/cannot read/);
  });
});

describe('runCaseSystem', () => {
  it('uploads a CP932 file, follows it and exits 0 when exactly the planted rows are rejected', async () => {
    const { code, stdout, stderr } = await run(options());
    expect(code).toBe(0);
    expect(gateway.contentType).toBe('text/csv; charset=Shift_JIS');
    expect(gateway.fileName).toMatch(/^linkage-\d{14}\.csv$/);
    expect(gateway.rows).toHaveLength(300);
    expect(stdout).toContain('rejected 5');
    expect(stdout).toContain('OK: the rejected rows are exactly the planted bad rows');
    for (const kind of ['my-number-check-digit', 'outside-era', 'invalid-kana'])
      expect(stdout).toContain(kind);
    expect(stdout).not.toContain('note:');
    expect(stderr).toContain('rows/s');
  });

  it('sends UTF-8 with its charset', async () => {
    const { code } = await run(options({ encoding: 'utf-8', bad: 0 }));
    expect(code).toBe(0);
    expect(gateway.contentType).toBe('text/csv; charset=utf-8');
  });

  it('exits 1 and prints both lists when the rejected rows differ from the planted ones', async () => {
    gateway.extraRejects.add(7);
    const { code, stdout } = await run(options({ seed: '2' }));
    expect(code).toBe(1);
    expect(stdout).toContain('MISMATCH');
    expect(stdout).toContain('rejected but not planted: 7');
  });

  it('exits 1 and prints the problem title, code and errors when the upload is refused', async () => {
    gateway.refuseUpload = true;
    const { code, stderr } = await run(options());
    expect(code).toBe(1);
    expect(stderr).toContain('入力内容に誤りがあります');
    expect(stderr).toContain('validation-failed');
    expect(stderr).toContain('/header/3: unknown-field');
  });

  it('exits 1 with the problem when the token is refused', async () => {
    const { code, stderr } = await run(options({ token: 'wrong' }));
    expect(code).toBe(1);
    expect(stderr).toContain('認証が必要です (code unauthorized)');
  });

  it('removes its temp file unless asked to keep it, and keeps a --file', async () => {
    const temp = await run(options({ bad: 0, subjects: 20 }));
    const tempFile = /to (\S+\.csv)/.exec(temp.stderr)?.[1] ?? '';
    expect(tempFile).toMatch(/pmh-case-system-/);
    await expect(access(tempFile)).rejects.toThrow();
    const kept = await run(options({ bad: 0, subjects: 20, keep: true }));
    const keptFile = /to (\S+\.csv)/.exec(kept.stderr)?.[1] ?? '';
    await expect(access(keptFile)).resolves.toBeUndefined();
    await rm(path.dirname(keptFile), { recursive: true, force: true });

    const dir = await mkdtemp(path.join(tmpdir(), 'sim-file-'));
    try {
      const file = path.join(dir, 'out.csv');
      const { code } = await run(options({ file, bad: 0, subjects: 20 }));
      expect(code).toBe(0);
      expect(await readdir(dir)).toEqual(['out.csv']);
      expect(gateway.fileName).toBe('out.csv');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('registers entitlements for the fiscal year of its reference date', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sim-file-'));
    try {
      const file = path.join(dir, 'fy.csv');
      const { code, stderr } = await run(
        options({ file, bad: 0, subjects: 20, encoding: 'utf-8', referenceDate: '2027-06-15' }),
      );
      expect(code).toBe(0);
      expect(stderr).toContain('entitlements 2027-04-01〜2028-03-31');
      const parser = createCsvParser();
      const [head, ...rows] = [...parser.push(await readFile(file, 'utf8')), ...parser.end()].map(
        (r) => r.fields,
      );
      const from = head?.indexOf('validFrom') ?? -1;
      expect(rows).toHaveLength(20);
      for (const row of rows) expect(row[from]).toBe('2027-04-01');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('fetchRejectedRows', () => {
  it('follows nextAfter across pages', async () => {
    await run(options({ bad: 9, seed: '5' }));
    const rows = await fetchRejectedRows({ url: gateway.url, token: 'secret' }, 'x', 2);
    expect(rows.map((r) => r.rowNo)).toEqual(
      gateway.rows.filter((r) => r.outcome === 'rejected').map((r) => r.rowNo),
    );
    expect(rows).toHaveLength(9);
  });
});

describe('reporting', () => {
  it('formats a progress line with bar, counts, percent and rate', () => {
    expect(formatProgress({ processed: 500, total: 1000, elapsedMs: 2000, status: 'processing' })).toBe(
      '[##########----------]  500 / 1,000  50.0%  250 rows/s  processing',
    );
  });

  it('rewrites the line with \\r on a TTY and prints plain lines every 5 s otherwise', () => {
    let t = 0;
    const view = (processedRows: number, status = 'processing') =>
      ({ processedRows, totalRows: null, status }) as unknown as LinkageFileView;
    const tty = new Sink(true);
    const a = createProgressReporter(tty, 100, () => t);
    a.update(view(10));
    a.update(view(20));
    a.finish();
    expect(tty.text.match(/\r/g)).toHaveLength(2);
    expect(tty.text.endsWith('\n')).toBe(true);

    const plain = new Sink(false);
    t = 0;
    const b = createProgressReporter(plain, 100, () => t);
    for (t = 0; t <= 12_000; t += 500) b.update(view(t / 200));
    b.update(view(100, 'completed'));
    expect(plain.text).not.toContain('\r');
    expect(plain.text.trim().split('\n')).toHaveLength(4); // at 0, 5 s, 10 s, and the final one
  });

  it('compares rejected rows with planted rows by number and notes other codes', () => {
    const c = compareRejected(
      [
        { rowNo: 2, kind: 'invalid-kana' },
        { rowNo: 5, kind: 'outside-era' },
      ],
      [
        { rowNo: 2, line: 3, errors: [{ pointer: '/validFrom', code: 'invalid-date' }] },
        { rowNo: 9, line: 10, errors: [] },
      ],
    );
    expect(c).toEqual({
      same: false,
      missing: [5],
      unexpected: [9],
      otherCodes: [{ rowNo: 2, expected: 'invalid-kana', actual: ['invalid-date'] }],
    });
  });
});
