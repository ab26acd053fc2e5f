/**
 * The lookup worker thread (LOOKUP_WORKER, PostgreSQL only): runs the lookups' group commit
 * (one statement per batch, the read model's openings, the audit entries, COMMIT) on its own
 * event loop and its own connections, so that its round trips to PostgreSQL do not wait
 * behind the HTTP work of the main thread, and that work runs on the second core.
 *
 * Protocol (see lookup-worker-client.ts): the main thread posts `{ jobs: [id, LookupJob][] }`;
 * the worker answers `{ done: [id, outcome][] }` once the batch holding those jobs has
 * committed — so an answer can never leave before its audit entry and nonce are durable.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '../../db/client.js';
import { LookupCommitter } from './lookup-committer.js';
import { type LookupJob, type LookupJobOutcome, lookupItem } from './lookup-jobs.js';

/** What the main thread hands the worker when it starts it. */
export interface LookupWorkerData {
  databaseUrl: string;
  /** The read model's data key (the worker opens the faces). */
  dataKey: Uint8Array;
  maxInFlight?: number;
}

/** A job's result as posted back: its outcome, or the message of what failed it. */
export type LookupWorkerResult = LookupJobOutcome | { error: string };

const data = workerData as LookupWorkerData;
const port = parentPort;
if (!port) throw new Error('lookup-worker.ts runs as a worker thread');
const database = await openDatabase({ url: data.databaseUrl });
const dataKey = Buffer.from(data.dataKey);
const committer = new LookupCommitter({
  db: database.db,
  ...(database.sql ? { sql: database.sql } : {}),
  clock: () => new Date(),
  ...(data.maxInFlight === undefined ? {} : { maxInFlight: data.maxInFlight }),
});

let done: [number, LookupWorkerResult][] = [];
let flushing = false;
function reply(id: number, result: LookupWorkerResult): void {
  done.push([id, result]);
  if (flushing) return;
  flushing = true;
  // A batch's lookups resolve in one turn: one message for all of them.
  setImmediate(() => {
    flushing = false;
    const out = done;
    done = [];
    port?.postMessage({ done: out });
  });
}

port.on('message', (msg: { jobs?: [number, LookupJob][]; close?: true }) => {
  if (msg.close) {
    void database.close().finally(() => port.close());
    return;
  }
  for (const [id, job] of msg.jobs ?? []) {
    let item: ReturnType<typeof lookupItem>;
    try {
      item = lookupItem(job, dataKey);
    } catch (err) {
      reply(id, { error: (err as Error).message });
      continue;
    }
    committer.commit(item).then(
      (o) => reply(id, o.ok ? { ok: true, entitlements: o.value } : o),
      (err: unknown) => reply(id, { error: (err as Error)?.message ?? String(err) }),
    );
  }
});
port.postMessage({ ready: true });
