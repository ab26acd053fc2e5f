import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { LookupJob, LookupJobOutcome } from './lookup-jobs.js';
import type { LookupWorkerData, LookupWorkerResult } from './lookup-worker.js';

/** tsx's ESM register API (its `import` export), found from this package wherever the process runs. */
function tsxEsmApi(): string {
  const require = createRequire(import.meta.url);
  const manifest = require.resolve('tsx/package.json');
  const exported = (
    require('tsx/package.json') as { exports: Record<string, { import: { default: string } }> }
  ).exports['./esm/api']?.import.default;
  if (!exported) throw new Error('tsx does not export ./esm/api');
  return pathToFileURL(path.join(path.dirname(manifest), exported)).href;
}

/**
 * Starts the lookup worker: the compiled `.js` file next to this one when running from `dist/`,
 * or the TypeScript source (loaded through tsx, resolved from this package, not from the
 * current directory) when running under tsx or vitest.
 */
function startLookupWorker(workerData: LookupWorkerData): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./lookup-worker.js', here), { workerData });
  const entry = new URL('./lookup-worker.ts', here).href;
  return new Worker(
    `import(${JSON.stringify(tsxEsmApi())}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`,
    { eval: true, workerData },
  );
}

interface Waiting {
  resolve: (o: LookupJobOutcome) => void;
  reject: (err: unknown) => void;
  /** The message (batch) it went in. */
  batch: Batch;
}

/** A message of jobs with the worker: in flight until each of its jobs is answered. */
interface Batch {
  open: number;
}

const DEFAULT_MAX_IN_FLIGHT = 2;

/**
 * The main thread's side of the lookup worker (lookup-worker.ts): hands it the lookups in
 * batches, one message each, and resolves each with its committed outcome. At most
 * `maxInFlight` (2, as many as the worker's group commit runs at once) messages are with the
 * worker: lookups arriving meanwhile wait here and go together once one is answered, so at a
 * steady rate the two threads exchange a message per batch, not per lookup (each message wakes
 * the other thread). The worker is started on first use and again after it stopped (its
 * lookups in flight then fail: their answers never left, and whatever the worker had not
 * committed is rolled back; lookups not sent yet go to the new worker).
 *
 * @example
 * const client = new LookupWorkerClient({ databaseUrl, dataKey });
 * const outcome = await client.commit({ kind: 'portal', actor, requestId, pseudonym, dateOfCare });
 */
export class LookupWorkerClient {
  #worker: Worker | undefined;
  #nextId = 1;
  #waiting = new Map<number, Waiting>();
  /** Jobs not sent yet, and their promises' settlers (same order). */
  #outbox: [number, LookupJob][] = [];
  #pending: Omit<Waiting, 'batch'>[] = [];
  #scheduled = false;
  #inFlight = 0;
  #closed = false;

  constructor(private readonly data: LookupWorkerData) {}

  /** Resolves once the job's audit entry (and nonce) is durable, with its outcome. */
  commit(job: LookupJob): Promise<LookupJobOutcome> {
    if (this.#closed) return Promise.reject(new Error('the lookup worker is closed'));
    return new Promise((resolve, reject) => {
      this.#outbox.push([this.#nextId++, job]);
      this.#pending.push({ resolve, reject });
      if (this.#scheduled) return;
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.#flush();
      });
    });
  }

  /** Sends what waits as one message, unless `maxInFlight` messages are with the worker already. */
  #flush(): void {
    if (this.#outbox.length === 0 || this.#inFlight >= (this.data.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT))
      return;
    const jobs = this.#outbox;
    const pending = this.#pending;
    this.#outbox = [];
    this.#pending = [];
    const batch: Batch = { open: jobs.length };
    jobs.forEach(([id], k) => {
      this.#waiting.set(id, { ...(pending[k] as Omit<Waiting, 'batch'>), batch });
    });
    this.#inFlight++;
    this.#start().postMessage({ jobs });
  }

  /** One job of a message answered (or failed): the message is done when all of its are. */
  #answered(w: Waiting): void {
    if (--w.batch.open === 0) this.#inFlight--;
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const worker = startLookupWorker(this.data);
    worker.unref();
    worker.on('message', (msg: { done?: [number, LookupWorkerResult][] }) => {
      for (const [id, result] of msg.done ?? []) {
        const w = this.#waiting.get(id);
        if (!w) continue;
        this.#waiting.delete(id);
        this.#answered(w);
        if ('error' in result) w.reject(new Error(`lookup failed: ${result.error}`));
        else w.resolve(result);
      }
      this.#flush();
    });
    const stopped = (err: unknown) => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      const waiting = [...this.#waiting.values()];
      this.#waiting.clear();
      this.#inFlight = 0;
      for (const w of waiting) w.reject(err);
      // Jobs not sent yet go to a new worker; none after close().
      if (!this.#closed) this.#flush();
      else for (const p of this.#pending.splice(0)) p.reject(err);
    };
    worker.on('error', stopped);
    worker.on('exit', (code) => stopped(new Error(`the lookup worker stopped (exit code ${code})`)));
    this.#worker = worker;
    return worker;
  }

  /** Lets the lookups in flight finish, then stops the worker and closes its connections. */
  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    if (!worker) return;
    const until = Date.now() + 5000;
    while ((this.#waiting.size > 0 || this.#pending.length > 0) && Date.now() < until)
      await new Promise((r) => setTimeout(r, 10));
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ close: true });
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (this.#worker === worker) await worker.terminate();
  }
}
