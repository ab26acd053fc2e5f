import { randomUUID } from 'node:crypto';
import { setImmediate as yieldToIo } from 'node:timers/promises';
import { and, asc, eq, gt, gte, lt, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { type Actor, AUDIT_ACTIONS, type AuditEntryInput, appendAudit } from '../../audit/index.js';
import { holdHeapGrowth } from '../../config/heap.js';
import { hmac, type KeyRing, open, seal } from '../../crypto/index.js';
import { bulkInsert, findEachByKey } from '../../db/bulk.js';
import { type Db, queryRows } from '../../db/client.js';
import { copyRows } from '../../db/copy.js';
import { PollingLoop } from '../../db/polling-loop.js';
import type { Principal } from '../../identity/index.js';
import {
  FIELD_CODES,
  type FieldError,
  type HubCaller,
  type PmhPort,
  type RecordOutcome,
  type RegistrationRecord,
  registrationRecordSchema,
  type Submission,
  toFieldErrors,
} from '../../pmh/index.js';
import { type CsvRecord, createCsvParser, parseCsv } from './csv.js';
import { type CsvEncoding, charsetFromContentType, createEncodingSniffer, decodeChunks } from './encoding.js';
import type { LinkageFileView } from './intake.schemas.js';
import { linkageFileChunks, linkageFileRows, linkageFiles } from './intake.tables.js';
import { checkHeader, type LinkageHeader, rowToRecord } from './linkage-columns.js';
import type { Outbox, SealedItems } from './outbox.service.js';

/**
 * The stored body's chunk size: small enough that a chunk read back (a bytea comes from
 * postgres.js as hex text, twice its size) and its decoded text stay below V8's large-object
 * size (128 KiB) and die young, instead of going straight to the old generation. Files stored
 * with other chunk sizes (1 MiB before) read back the same.
 */
const CHUNK_BYTES = 60 * 1024;
/** Chunks written per statement (one commit) and read per query. */
const CHUNKS_PER_WRITE = 16;
const CHUNK_COLUMNS = ['file_id', 'seq', 'sealed'];
const ROW_COLUMNS = {
  file_id: 'uuid',
  row_no: 'int',
  line: 'int',
  outcome: 'text',
  subject_id: 'uuid',
  key_digest: 'bytea',
  errors: 'text',
} as const;
const HEADER_LIMIT = 64 * 1024;
/**
 * Rows parsed or validated between two turns of the event loop. Small, so that the hub's
 * transaction (the pipeline's serial step) gets each database answer in soon: at 250 rows
 * an upload took ~15 % longer (docs/BENCHMARKS.md).
 */
const YIELD_EVERY = 50;

/**
 * The outcome of one row of a linkage file. With a remote PMH, a valid row is `queued` until
 * PMH answers, then takes PMH's outcome (or `given-up` when delivery was given up).
 */
export type RowOutcome = RecordOutcome | 'rejected' | 'queued' | 'given-up';

/** Why an upload was refused before anything was stored. */
export type UploadRefusal =
  | { ok: false; reason: 'unsupported-charset' }
  | { ok: false; reason: 'invalid-header'; errors: FieldError[] }
  | { ok: false; reason: 'too-large' };

/** Dependencies of the intake. */
export interface IntakeDeps {
  db: Db;
  keyRing: KeyRing;
  hub: PmhPort;
  clock: () => Date;
  logger: Logger;
  batchSize: number;
  leaseMs?: number;
  maxBytes?: number;
  /** Size of the stored body's chunks (default 60 KiB; tests make it small to cut characters at chunk edges). */
  chunkBytes?: number;
  /** V8's heap growth held while a file is processed (see `holdHeapGrowth`); 0 or unset: V8's own. */
  heapGrowthPercent?: number;
  instanceId?: string;
  /** Remote mode: valid rows go to this outbox (in the batch's transaction) instead of the hub. */
  outbox?: { store: Outbox; nudge: () => void } | undefined;
}

/** A validated row: its place in the file and its fate, without the parsed CSV (not kept past validation). */
interface Row {
  rowNo: number;
  line: number;
  errors?: FieldError[];
  record?: RegistrationRecord;
  keyDigest?: Buffer;
}

interface PendingRow {
  rowNo: number;
  line: number;
  csv: CsvRecord;
}

type FileRow = typeof linkageFiles.$inferSelect;

interface PreparedBatch {
  first: number;
  last: number;
  values: Record<string, unknown>[];
  audit: AuditEntryInput[];
  counts: {
    created: number;
    updated: number;
    unchanged: number;
    deleted: number;
    notFound: number;
    rejected: number;
    queued: number;
  };
  /** Records for the remote PMH, stored with the batch. */
  sealed?: SealedItems;
}

interface ValidatedBatch {
  first: number;
  last: number;
  rows: Row[];
  /** The rows that passed (a repeated key is not one), in order: what goes to the hub or the outbox. */
  valid: Row[];
  /** Key digests of this batch's accepted rows, for the duplicate check of later batches. */
  digests: Set<string>;
}

function fileContext(fileId: string, seq: number): string {
  return `linkage-file:${fileId}:${seq}`;
}

function rowRef(fileId: string, rowNo: number): string {
  return `linkage-file:${fileId}:row:${rowNo}`;
}

/**
 * The municipality side of registration by file (連携ファイル, seed ㉖): stores an upload
 * durably and encrypted, then a worker feeds it to the hub in batches, committing each
 * batch's row outcomes with the file's resume cursor.
 *
 * @example
 * const intake = new IntakeService({ db, keyRing, hub, clock, logger, batchSize: 1000 });
 * intake.start();
 */
export class IntakeService {
  readonly #instanceId: string;
  readonly #leaseMs: number;
  readonly #loop: PollingLoop;
  #started = false;

  constructor(private readonly deps: IntakeDeps) {
    this.#instanceId = deps.instanceId ?? `intake-${randomUUID()}`;
    this.#leaseMs = deps.leaseMs ?? 30_000;
    this.#loop = new PollingLoop({
      step: () => this.processNext(),
      onError: (err) =>
        deps.logger.error(
          { err: { name: (err as Error).name, code: (err as { code?: string }).code } },
          'intake worker error',
        ),
    });
  }

  /** True when the background loop was started and is being stopped (a direct `processNext` runs on). */
  #stopping(): boolean {
    return this.#started && !this.#loop.running;
  }

  /**
   * Stores an upload (request body, streamed) sealed in 60 KiB chunks. Answers only after
   * the whole body is committed; the header is checked first so a wrong file stores nothing.
   */
  async receive(
    principal: Principal,
    input: {
      fileName: string;
      contentType: string | undefined;
      body: ReadableStream<Uint8Array> | null;
      requestId: string;
    },
  ): Promise<{ ok: true; view: LinkageFileView } | UploadRefusal> {
    const declared = charsetFromContentType(input.contentType);
    if (declared === 'unsupported') return { ok: false, reason: 'unsupported-charset' };
    const { dataKey } = await this.deps.keyRing.forScope(principal.tenantCode);
    const id = randomUUID();
    const sniffer = createEncodingSniffer();
    const maxBytes = this.deps.maxBytes ?? 2 * 1024 ** 3;
    const chunkBytes = this.deps.chunkBytes ?? CHUNK_BYTES;
    let head: Buffer | undefined = Buffer.alloc(0);
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let chunkSeq = 0;
    let byteSize = 0;
    let inserted = false;

    const flush = async (final: boolean) => {
      // Up to CHUNKS_PER_WRITE chunks (~1 MiB) per statement: one commit per MiB, as before.
      while (pendingBytes >= chunkBytes * CHUNKS_PER_WRITE || (final && pendingBytes > 0)) {
        const all = Buffer.concat(pending);
        const rows: { file_id: string; seq: number; sealed: Buffer }[] = [];
        let at = 0;
        while (rows.length < CHUNKS_PER_WRITE && at < all.length) {
          const piece = all.subarray(at, Math.min(at + chunkBytes, all.length));
          rows.push({ file_id: id, seq: chunkSeq, sealed: seal(dataKey, piece, fileContext(id, chunkSeq)) });
          chunkSeq += 1;
          at += piece.length;
        }
        // By binary COPY: the sealed bytes go as they are, where a bytea parameter travels as
        // hex text twice their size.
        if (!(await copyRows(this.deps.db, 'intake.linkage_file_chunks', CHUNK_COLUMNS, rows))) {
          throw new Error('intake.linkage_file_chunks has not the expected columns');
        }
        const rest = all.subarray(at);
        pending = rest.length ? [Buffer.from(rest)] : [];
        pendingBytes = rest.length;
      }
    };

    const start = async () => {
      await this.deps.db.insert(linkageFiles).values({
        id,
        tenantCode: principal.tenantCode,
        businessId: principal.businessId,
        clientId: principal.clientId,
        fileName: input.fileName,
        status: 'uploading',
        requestId: input.requestId,
        receivedAt: this.deps.clock(),
      });
      inserted = true;
    };

    const abandon = async () => {
      if (inserted) await this.deps.db.delete(linkageFiles).where(eq(linkageFiles.id, id));
    };

    try {
      if (input.body) {
        const reader = input.body.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
          byteSize += bytes.length;
          if (byteSize > maxBytes) {
            await reader.cancel();
            await abandon();
            return { ok: false, reason: 'too-large' };
          }
          sniffer.push(bytes);
          if (head) {
            head = Buffer.concat([head, bytes]);
            const nl = head.indexOf(10);
            if (nl < 0 && head.length < HEADER_LIMIT) continue;
            const refusal = this.#checkHeaderBytes(head.subarray(0, nl < 0 ? head.length : nl));
            if (refusal) {
              await reader.cancel();
              return refusal;
            }
            pending.push(head);
            pendingBytes += head.length;
            head = undefined;
            await start();
          } else {
            pending.push(bytes);
            pendingBytes += bytes.length;
          }
          if (pendingBytes >= chunkBytes * CHUNKS_PER_WRITE) await flush(false);
        }
      }
      if (head) {
        const refusal = this.#checkHeaderBytes(
          head.subarray(0, head.indexOf(10) < 0 ? head.length : head.indexOf(10)),
        );
        if (refusal) return refusal;
        pending.push(head);
        pendingBytes += head.length;
        await start();
      }
      await flush(true);
      const encoding: CsvEncoding = declared ?? sniffer.result();
      const actor: Actor = { kind: 'client', id: principal.clientId };
      await this.deps.db.transaction(async (tx) => {
        await tx
          .update(linkageFiles)
          .set({
            status: 'received',
            encoding,
            byteSize,
            chunkCount: chunkSeq,
            receivedAt: this.deps.clock(),
          })
          .where(eq(linkageFiles.id, id));
        await appendAudit(
          tx,
          principal.tenantCode,
          [
            {
              actor,
              action: AUDIT_ACTIONS.linkageFileReceived,
              requestId: input.requestId,
              detail: { linkageFileId: id, byteSize },
            },
          ],
          this.deps.clock(),
        );
      });
    } catch (err) {
      await abandon().catch(() => {});
      throw err;
    }
    this.#loop.nudge();
    const view = await this.get(principal, id, { onlyRejected: false, after: 0, limit: 0 });
    if (!view) throw new Error('stored linkage file vanished');
    return { ok: true, view };
  }

  #checkHeaderBytes(bytes: Buffer): UploadRefusal | undefined {
    const parser = createCsvParser();
    const text = bytes.toString('latin1').replace(/^\u00ef\u00bb\u00bf/, '');
    const [record] = [...parser.push(text), ...parser.end()];
    const result = checkHeader(record?.fields ?? []);
    return 'errors' in result ? { ok: false, reason: 'invalid-header', errors: result.errors } : undefined;
  }

  /** A linkage file of the caller's tenant and business with a page of its row outcomes. */
  async get(
    principal: Principal,
    fileId: string,
    page: { onlyRejected: boolean; after: number; limit: number },
  ): Promise<LinkageFileView | undefined> {
    const [file] = await this.deps.db
      .select()
      .from(linkageFiles)
      .where(
        and(
          eq(linkageFiles.id, fileId),
          eq(linkageFiles.tenantCode, principal.tenantCode),
          eq(linkageFiles.businessId, principal.businessId),
        ),
      );
    if (!file) return undefined;
    const rows =
      page.limit > 0
        ? await this.deps.db
            .select({
              rowNo: linkageFileRows.rowNo,
              line: linkageFileRows.line,
              outcome: linkageFileRows.outcome,
              subjectId: linkageFileRows.subjectId,
              errors: linkageFileRows.errors,
            })
            .from(linkageFileRows)
            .where(
              and(
                eq(linkageFileRows.fileId, fileId),
                gt(linkageFileRows.rowNo, page.after),
                page.onlyRejected ? eq(linkageFileRows.outcome, 'rejected') : undefined,
              ),
            )
            .orderBy(asc(linkageFileRows.rowNo))
            .limit(page.limit + 1)
        : [];
    const more = rows.length > page.limit;
    const shown = more ? rows.slice(0, page.limit) : rows;
    const deliveries = this.deps.outbox
      ? await this.deps.outbox.store.deliveriesOfRows(
          file.id,
          shown.map((r) => r.rowNo),
        )
      : undefined;
    const states = await this.deps.hub.numberingStates(
      {
        tenantCode: principal.tenantCode,
        businessId: principal.businessId,
        actor: { kind: 'client', id: principal.clientId },
      },
      shown.flatMap((r) => (r.subjectId ? [r.subjectId] : [])),
    );
    return {
      linkageFileId: file.id,
      fileName: file.fileName,
      status: file.status,
      encoding: file.encoding,
      byteSize: file.byteSize,
      receivedAt: file.receivedAt.toISOString(),
      startedAt: file.startedAt?.toISOString() ?? null,
      completedAt: file.completedAt?.toISOString() ?? null,
      totalRows: file.totalRows,
      processedRows: file.cursorRow,
      counts: {
        created: file.created,
        updated: file.updated,
        unchanged: file.unchanged,
        deleted: file.deleted,
        notFound: file.notFound,
        rejected: file.rejected,
        queued: file.queued,
        givenUp: file.givenUp,
      },
      resumeCount: file.resumeCount,
      lastResumedFrom: file.lastResumedFrom,
      failure: file.failure,
      rows: shown.map((r) => ({
        rowNo: r.rowNo,
        line: r.line,
        outcome: r.outcome as RowOutcome,
        subjectId: r.subjectId,
        ...(r.errors ? { errors: JSON.parse(r.errors) as FieldError[] } : {}),
        ...(r.subjectId && states[r.subjectId] ? { numbering: states[r.subjectId] } : {}),
        ...(deliveries?.has(r.rowNo) ? { delivery: deliveries.get(r.rowNo) } : {}),
      })),
      nextAfter: more ? (shown.at(-1)?.rowNo ?? null) : null,
    };
  }

  /** Starts the background worker. */
  start(): void {
    this.#started = true;
    this.#loop.start();
  }

  /** Stops the worker after the batch in hand; the cursor makes the rest resumable. */
  stop(): Promise<void> {
    return this.#loop.stop();
  }

  /** Claims the next file (upload order per tenant) and processes it to the end. */
  async processNext(): Promise<boolean> {
    const file = await this.#claim();
    if (!file) return false;
    const releaseHeap = holdHeapGrowth(this.deps.heapGrowthPercent ?? 0);
    try {
      await this.#process(file);
    } catch (err) {
      this.deps.logger.error(
        { linkageFileId: file.id, err: { name: (err as Error).name, code: (err as { code?: string }).code } },
        'linkage file processing stopped; it will resume from its cursor',
      );
      await this.deps.db
        .update(linkageFiles)
        .set({ leaseUntil: null, leaseOwner: null })
        .where(and(eq(linkageFiles.id, file.id), eq(linkageFiles.leaseOwner, this.#instanceId)));
      throw err;
    } finally {
      releaseHeap();
    }
    return true;
  }

  async #claim(): Promise<FileRow | undefined> {
    const rows = await queryRows<{ id: string }>(
      this.deps.db,
      sql`
      update intake.linkage_files f
         set status = 'processing',
             lease_owner = ${this.#instanceId},
             lease_until = now() + make_interval(secs => ${this.#leaseMs / 1000}),
             started_at = coalesce(f.started_at, now()),
             resume_count = f.resume_count + (case when f.status = 'processing' then 1 else 0 end),
             last_resumed_from = case when f.status = 'processing' then f.cursor_row else f.last_resumed_from end
       where f.id = (
         select c.id from intake.linkage_files c
          where c.status in ('received', 'processing')
            and (c.lease_until is null or c.lease_until < now())
            and not exists (
              select 1 from intake.linkage_files e
               where e.tenant_code = c.tenant_code and e.status in ('received', 'processing')
                 and (e.received_at, e.seq) < (c.received_at, c.seq))
          order by c.received_at, c.seq
          limit 1
          for update skip locked)
      returning f.id`,
    );
    const id = rows[0]?.id;
    if (!id) return undefined;
    const [file] = await this.deps.db.select().from(linkageFiles).where(eq(linkageFiles.id, id));
    return file;
  }

  async *#chunks(file: FileRow, dataKey: Buffer): AsyncIterable<Uint8Array> {
    for (let from = 0; from < file.chunkCount; from += CHUNKS_PER_WRITE) {
      const page = await this.deps.db
        .select()
        .from(linkageFileChunks)
        .where(
          and(
            eq(linkageFileChunks.fileId, file.id),
            gte(linkageFileChunks.seq, from),
            lt(linkageFileChunks.seq, from + CHUNKS_PER_WRITE),
          ),
        )
        .orderBy(asc(linkageFileChunks.seq));
      for (const chunk of page) yield open(dataKey, chunk.sealed, fileContext(file.id, chunk.seq));
    }
  }

  async #process(file: FileRow): Promise<void> {
    const keys = await this.deps.keyRing.forScope(file.tenantCode);
    const encoding = (file.encoding ?? 'utf-8') as CsvEncoding;
    const caller: HubCaller = {
      tenantCode: file.tenantCode,
      businessId: file.businessId,
      actor: { kind: 'client', id: file.clientId },
      requestId: file.requestId ?? undefined,
    };
    let header: LinkageHeader | undefined;
    let rowNo = 0;
    let batch: PendingRow[] = [];
    // A pipeline: while batch N+1 is parsed and validated on this thread, batch N is with the
    // hub and batch N-1's row outcomes commit. Order is kept: N goes to the hub after N-1 has
    // answered, and N's commit waits for N-1's.
    let committing: Promise<void> = Promise.resolve();
    let failure: unknown;
    // The batch with the hub, settled or not: one at a time. The next batch's hub submission is
    // prepared (its CPU work) while this one is in its transaction.
    let withHub: Promise<unknown> = Promise.resolve();
    // Key digests of rows validated but not yet committed, per batch, for the duplicate check.
    const uncommitted = new Set<Set<string>>();
    const flush = async (rows: PendingRow[], h: LinkageHeader) => {
      const validated = await this.#validateBatch(file, keys.blindIndexKey, h, rows, uncommitted);
      uncommitted.add(validated.digests);
      const submission = await this.#hubSubmission(file, caller, validated);
      await withHub;
      if (failure) throw failure;
      const submitted = this.#submitBatch(file, caller, validated, submission);
      withHub = submitted.catch(() => undefined);
      committing = committing
        .then(async () => {
          const prepared = await submitted;
          if (failure) return;
          await this.#commitBatch(file, prepared);
          uncommitted.delete(validated.digests);
        })
        .catch((err: unknown) => {
          failure ??= err;
        });
    };
    const settle = async () => {
      await withHub;
      await committing;
      if (failure) throw failure;
    };
    try {
      for await (const csv of parseCsv(decodeChunks(this.#chunks(file, keys.dataKey), encoding))) {
        if (!header) {
          const h = checkHeader(csv.fields);
          if ('errors' in h) {
            await this.#fail(file, 'invalid-header');
            return;
          }
          header = h;
          continue;
        }
        rowNo += 1;
        if (rowNo <= file.cursorRow) continue;
        batch.push({ rowNo, line: csv.line, csv });
        // Let the hub's and the commit's database answers in while this thread parses.
        if (batch.length % YIELD_EVERY === 0) await yieldToIo();
        if (batch.length >= this.deps.batchSize) {
          await flush(batch, header);
          batch = [];
          if (this.#stopping()) return await settle();
        }
      }
      if (batch.length && header) await flush(batch, header);
    } finally {
      // Whatever ends the loop, nothing in flight is left behind unobserved.
      await Promise.allSettled([withHub, committing]);
    }
    await settle();
    await this.deps.db
      .update(linkageFiles)
      .set({
        status: 'completed',
        totalRows: rowNo,
        completedAt: this.deps.clock(),
        leaseOwner: null,
        leaseUntil: null,
      })
      .where(eq(linkageFiles.id, file.id));
  }

  async #fail(file: FileRow, failure: string): Promise<void> {
    await this.deps.db
      .update(linkageFiles)
      .set({ status: 'failed', failure, completedAt: this.deps.clock(), leaseOwner: null, leaseUntil: null })
      .where(eq(linkageFiles.id, file.id));
  }

  #validateRow(blindIndexKey: Buffer, header: LinkageHeader, p: PendingRow): Row {
    const at = { rowNo: p.rowNo, line: p.line };
    if (p.csv.error) {
      const code =
        p.csv.error === 'stray-quote' ? FIELD_CODES.csvStrayQuote : FIELD_CODES.csvUnterminatedQuote;
      return { ...at, errors: [{ pointer: '', code }] };
    }
    if (p.csv.fields.length !== header.columns.length) {
      return { ...at, errors: [{ pointer: '', code: FIELD_CODES.csvColumnCount }] };
    }
    const { record, errors } = rowToRecord(header, p.csv.fields);
    const parsed = registrationRecordSchema.safeParse(record);
    if (!parsed.success || errors.length) {
      const flagged = new Set(errors.map((e) => e.pointer));
      const more = parsed.success
        ? []
        : toFieldErrors(parsed.error.issues, false).filter((e) => !flagged.has(e.pointer));
      return { ...at, errors: [...errors, ...more] };
    }
    const r = parsed.data;
    const keyDigest = hmac(
      blindIndexKey,
      `${r.myNumber}\u0000${r.orgSpecificCertificateTypeId}\u0000${r.certificationSubKey ?? ''}`,
      16,
    );
    return { ...at, record: r, keyDigest };
  }

  /**
   * Validates a batch and finds keys repeated in the file: in rows already committed (the
   * database) or in batches still in flight (`uncommitted`, read before the query is sent, so
   * a batch that commits meanwhile is seen one way or the other).
   */
  async #validateBatch(
    file: FileRow,
    blindIndexKey: Buffer,
    header: LinkageHeader,
    batch: PendingRow[],
    uncommitted: ReadonlySet<ReadonlySet<string>>,
  ): Promise<ValidatedBatch> {
    const seenBefore = new Set<string>();
    for (const digests of uncommitted) for (const k of digests) seenBefore.add(k);
    const rows: Row[] = [];
    for (const p of batch) {
      rows.push(this.#validateRow(blindIndexKey, header, p));
      if (rows.length % YIELD_EVERY === 0) await yieldToIo();
    }
    const candidates = rows.filter((r) => r.keyDigest);
    if (candidates.length) {
      const found = await findEachByKey(
        this.deps.db,
        linkageFileRows,
        candidates.map((r) => r.keyDigest as Buffer),
        'bytea',
        (k) => and(eq(linkageFileRows.fileId, file.id), eq(linkageFileRows.keyDigest, k)),
      );
      for (const f of found) if (f.keyDigest) seenBefore.add(f.keyDigest.toString('base64'));
    }
    const digests = new Set<string>();
    for (const r of candidates) {
      const k = (r.keyDigest as Buffer).toString('base64');
      if (seenBefore.has(k)) {
        r.errors = [{ pointer: '/myNumber', code: FIELD_CODES.duplicateKeyInFile }];
        r.record = undefined;
        r.keyDigest = undefined;
      } else {
        seenBefore.add(k);
        digests.add(k);
      }
    }

    return {
      rows,
      valid: rows.filter((r) => r.record),
      digests,
      first: batch[0]?.rowNo ?? 0,
      last: batch.at(-1)?.rowNo ?? 0,
    };
  }

  /**
   * The hub's submission of a validated batch's valid rows, with its CPU work (digests,
   * envelopes) done now if the hub can: while the batch before is in its transaction. None in
   * outbox mode or when every row was rejected.
   */
  async #hubSubmission(
    file: FileRow,
    caller: HubCaller,
    batch: ValidatedBatch,
  ): Promise<Submission | undefined> {
    const { valid } = batch;
    if (this.deps.outbox || !valid.length) return undefined;
    const submission: Submission = {
      idempotencyKey: `linkage-file:${file.id}:${batch.first}-${batch.last}`,
      records: valid.map((r) => r.record as RegistrationRecord),
      recordRefs: valid.map((r) => rowRef(file.id, r.rowNo)),
    };
    return this.deps.hub.prepare ? this.deps.hub.prepare(caller, submission) : submission;
  }

  /** Submits a validated batch's valid rows to the hub (or the outbox) and builds its row outcomes. */
  async #submitBatch(
    file: FileRow,
    caller: HubCaller,
    batch: ValidatedBatch,
    submission: Submission | undefined,
  ): Promise<PreparedBatch> {
    const { rows, valid, first, last } = batch;
    const outbox = this.deps.outbox?.store;
    const sealed =
      outbox && valid.length
        ? await outbox.seal(
            { tenantCode: file.tenantCode, businessId: file.businessId, clientId: file.clientId },
            'linkage-file',
            file.id,
            valid.map((r) => ({ index: r.rowNo, record: r.record as RegistrationRecord })),
          )
        : undefined;
    const results = outbox
      ? valid.map((_, index) => ({ index, subjectId: null, outcome: 'queued' as const }))
      : submission
        ? await this.deps.hub.submit(caller, submission)
        : [];
    const outcomes = new Map<number, { outcome: RowOutcome; subjectId: string | null }>();
    valid.forEach((r, i) => {
      const res = results[i];
      if (!res) throw new Error('hub answered fewer results than records');
      outcomes.set(r.rowNo, { outcome: res.outcome, subjectId: res.subjectId });
    });

    const counts = { created: 0, updated: 0, unchanged: 0, deleted: 0, notFound: 0, rejected: 0, queued: 0 };
    const audit: AuditEntryInput[] = [];
    const values = rows.map((r) => {
      const o = outcomes.get(r.rowNo) ?? { outcome: 'rejected' as const, subjectId: null };
      if (o.outcome === 'not-found') counts.notFound += 1;
      else if (o.outcome !== 'given-up') counts[o.outcome] += 1;
      if (o.outcome === 'rejected') {
        audit.push({
          actor: caller.actor,
          action: AUDIT_ACTIONS.linkageRowRejected,
          requestId: caller.requestId ?? null,
          detail: { ref: rowRef(file.id, r.rowNo), codes: (r.errors ?? []).map((e) => e.code) },
        });
      }
      return {
        file_id: file.id,
        row_no: r.rowNo,
        line: r.line,
        outcome: o.outcome,
        subject_id: o.subjectId,
        key_digest: r.keyDigest ?? null,
        errors: r.errors ? JSON.stringify(r.errors) : null,
      };
    });
    return { first, last, values, audit, counts, ...(sealed ? { sealed } : {}) };
  }

  /** Commits a prepared batch's row outcomes and audit entries together with the cursor. */
  async #commitBatch(file: FileRow, batch: PreparedBatch): Promise<void> {
    const { first, last, values, audit, counts } = batch;
    await this.deps.db.transaction(async (tx) => {
      const [current] = await tx
        .select({ cursorRow: linkageFiles.cursorRow, leaseOwner: linkageFiles.leaseOwner })
        .from(linkageFiles)
        .where(eq(linkageFiles.id, file.id))
        .for('update');
      if (!current || current.leaseOwner !== this.#instanceId || current.cursorRow !== first - 1) {
        throw new Error('lost the lease on this linkage file');
      }
      await bulkInsert(tx, 'intake.linkage_file_rows', ROW_COLUMNS, values);
      if (batch.sealed) await this.deps.outbox?.store.insert(tx, batch.sealed);
      if (audit.length) await appendAudit(tx, file.tenantCode, audit, this.deps.clock());
      await tx
        .update(linkageFiles)
        .set({
          cursorRow: last,
          created: sql`${linkageFiles.created} + ${counts.created}`,
          updated: sql`${linkageFiles.updated} + ${counts.updated}`,
          unchanged: sql`${linkageFiles.unchanged} + ${counts.unchanged}`,
          deleted: sql`${linkageFiles.deleted} + ${counts.deleted}`,
          notFound: sql`${linkageFiles.notFound} + ${counts.notFound}`,
          rejected: sql`${linkageFiles.rejected} + ${counts.rejected}`,
          queued: sql`${linkageFiles.queued} + ${counts.queued}`,
          leaseUntil: sql`now() + make_interval(secs => ${this.#leaseMs / 1000})`,
        })
        .where(eq(linkageFiles.id, file.id));
    });
    if (batch.sealed) this.deps.outbox?.nudge();
  }
}
