import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { ScopeKeys } from '../crypto/index.js';
import { type PreparedRecord, prepareRecords } from './pmh.prepare.js';
import type { RegistrationRecord } from './pmh.schemas.js';
import { startWorkerThread } from './worker-thread.js';

/** A message to the prepare worker. */
export interface PrepareRequest {
  id: number;
  tenantCode: string;
  keys: Pick<ScopeKeys, 'dataKey' | 'blindIndexKey' | 'digestKey'>;
  records: readonly RegistrationRecord[];
}

/** The prepare worker's answer. */
export type PrepareResponse = { id: number; prepared: PreparedRecord[] } | { id: number; error: string };

type Pending = { resolve: (p: PreparedRecord[]) => void; reject: (e: Error) => void };

/** Fewer records than this are prepared on the calling thread: a round trip would cost more. */
const MIN_RECORDS = 100;

// Structured clone turns Buffers into Uint8Arrays; the hub compares and encodes Buffers.
function asBuffer(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

function revive(prepared: PreparedRecord[]): PreparedRecord[] {
  for (const p of prepared) {
    p.index = asBuffer(p.index);
    const u = p.upsert;
    if (!u) continue;
    u.subjectDigest = asBuffer(u.subjectDigest);
    u.subjectSealed = asBuffer(u.subjectSealed);
    u.entitlementDigest = asBuffer(u.entitlementDigest);
    u.entitlementSealed = asBuffer(u.entitlementSealed);
  }
  return prepared;
}

/**
 * Prepares the hub's records (blind index, digests, both envelopes) in a worker thread, so
 * that on a two-core machine the main thread drives the database while the other core does
 * the cryptography. Small submissions, or a worker that cannot start, are prepared inline.
 *
 * @example
 * const pool = new PreparePool({ logger });
 * const prepared = await pool.prepare('130001', keys, records);
 */
export class PreparePool {
  #worker: Worker | undefined;
  #broken = false;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  /** Submissions prepared in the worker and on the calling thread (for operators and tests). */
  readonly counts = { inWorker: 0, inline: 0 };

  constructor(private readonly deps: { logger: Logger; minRecords?: number }) {}

  async prepare(
    tenantCode: string,
    keys: ScopeKeys,
    records: readonly RegistrationRecord[],
  ): Promise<PreparedRecord[]> {
    if (this.#broken || records.length < (this.deps.minRecords ?? MIN_RECORDS)) {
      this.counts.inline += 1;
      return prepareRecords(tenantCode, keys, records);
    }
    const worker = this.#ensure();
    const id = this.#nextId++;
    const answer = new Promise<PreparedRecord[]>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
    });
    const req: PrepareRequest = {
      id,
      tenantCode,
      keys: { dataKey: keys.dataKey, blindIndexKey: keys.blindIndexKey, digestKey: keys.digestKey },
      records,
    };
    worker.postMessage(req);
    try {
      const prepared = revive(await answer);
      this.counts.inWorker += 1;
      return prepared;
    } catch {
      // The worker stopped under this request: prepare it here rather than fail the submission.
      this.counts.inline += 1;
      return prepareRecords(tenantCode, keys, records);
    }
  }

  #ensure(): Worker {
    if (this.#worker) return this.#worker;
    const worker = startWorkerThread(import.meta.url, 'prepare.worker');
    worker.unref();
    worker.on('message', (res: PrepareResponse) => {
      const p = this.#pending.get(res.id);
      if (!p) return;
      this.#pending.delete(res.id);
      if ('error' in res) p.reject(new Error(`preparing records failed (${res.error})`));
      else p.resolve(res.prepared);
    });
    const fail = (err: Error) => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      this.deps.logger.error(
        { err: { name: err.name } },
        'prepare worker stopped; preparing on the main thread',
      );
      this.#broken = true;
      for (const p of this.#pending.values()) p.reject(new Error('the prepare worker stopped'));
      this.#pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (code !== 0) fail(new Error(`exit ${code}`));
      else if (this.#worker === worker) this.#worker = undefined;
    });
    this.#worker = worker;
    return worker;
  }

  /** Stops the worker (pending preparations are refused). */
  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    for (const p of this.#pending.values()) p.reject(new Error('the prepare pool was closed'));
    this.#pending.clear();
    if (worker) await worker.terminate();
  }
}
