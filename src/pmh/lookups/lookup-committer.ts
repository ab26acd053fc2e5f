import type { SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type postgres from 'postgres';
import { type AuditEntryInput, appendAuditStatement, ensureAuditChain } from '../../audit/index.js';
import { type Db, queryRows, sql } from '../../db/client.js';

/** The audit chain of clinic and portal lookups (they span tenants, so they have their own). */
export const LOOKUP_AUDIT_CHAIN = 'lookups';

/** A read-model row found for a lookup (sealed; the caller opens it). */
export interface FoundRow {
  entitlementId: string;
  sealed: Buffer;
}

/** What one lookup found: whose entitlements (a pseudonym may be unknown) and which rows. */
export interface Found {
  pmhId: string | null;
  rows: FoundRow[];
}

/** One lookup handed to {@link LookupCommitter.commit}. */
export interface LookupItem<T> {
  /** Whose entitlements to read: a PMH-ID, or a portal pseudonym resolved in the same query; none reads nothing. */
  who?: { pmhId: string } | { pseudonym: string };
  /** The date the entitlements must be valid on (YYYY-MM-DD). */
  dateOfCare?: string;
  /** A linkage key's nonce: recorded as used in the same transaction; a used one is `replayed`. */
  jti?: { jti: string; expiresAt: Date };
  /**
   * Builds the answer and its audit entry from what was found. Runs inside the batch, before the
   * audit entries are written, so the entry records exactly what the answer holds; a throw fails
   * this lookup only (no entry, no answer).
   */
  answer(found: Found): { value: T; entry: AuditEntryInput };
  /** The audit entry when the nonce was already used (nothing is read then). */
  replayed?: AuditEntryInput;
}

/** The outcome of {@link LookupCommitter.commit}. */
export type LookupOutcome<T> = { ok: true; value: T } | { ok: false; reason: 'replayed' };

interface Pending {
  item: LookupItem<unknown>;
  resolve: (outcome: LookupOutcome<unknown>) => void;
  reject: (err: unknown) => void;
}

/** Per lookup of a batch, as the statement takes it (`i` = its place in the batch). */
interface Asked {
  i: number;
  pmh_id: string | null;
  pseudonym: string | null;
  jti: string | null;
  expires_at: string | null;
  d: string | null;
}

interface Row {
  i: number;
  pmh_id: string | null;
  fresh: boolean;
  entitlement_id: string | null;
  sealed: Uint8Array | null;
}

const DEFAULT_MAX_BATCH = 500;
const DEFAULT_MAX_IN_FLIGHT = 2;

/**
 * Group commit for lookups (seed ㉘ ㉙). Lookups queue up; each batch is one transaction:
 * one statement records the linkage keys' nonces as used, resolves portal pseudonyms and
 * reads every lookup's valid entitlements; the answers and their audit entries are built
 * from what it read; the entries are appended to the lookups' chain; COMMIT. A lookup's
 * answer is released only after that commit returns (PostgreSQL with fsync: durable), so no
 * audit entry can be lost once an answer is out; a crash before it loses the answer with the
 * entry. A nonce already used (or twice in one batch) comes back `replayed`, is audited as
 * such, and reads nothing.
 *
 * Why the reads are batched too: on two cores the gateway spent most of a lookup's CPU on
 * talking to PostgreSQL (a socket write that wakes a backend per statement, and parsing the
 * reply), not on the lookup; one statement for a batch costs about what one lookup's did.
 *
 * Overlap: at most `maxInFlight` (2) batches at once, and a new one starts only when the
 * previous one has finished its read — so it gathers what arrived meanwhile, and its read
 * overlaps the previous batch's audit append. The append is one statement that locks the
 * chain's head, hashes and inserts the entries and moves the head (appendAuditStatement), so
 * the chain is locked only while PostgreSQL runs it and the COMMIT. On postgres.js (`sql`)
 * each batch is two pipelined round trips: BEGIN + the batch statement, then the append +
 * COMMIT. Deadlock-free: nonces are inserted in sorted order, and all of a batch's nonces
 * before the chain's lock. Batches are taken whole from the queue up to `maxBatch` (500),
 * never held back to grow.
 *
 * @example
 * const outcome = await committer.commit({ who: { pmhId }, dateOfCare, jti, answer: (found) => ... });
 */
export class LookupCommitter {
  #queue: Pending[] = [];
  #inFlight = 0;
  /** A batch is between its start and the end of its read: the next one waits, gathering lookups. */
  #reading = false;
  #scheduled = false;

  #chain: Promise<void> | undefined;

  constructor(
    private readonly deps: {
      db: Db;
      clock: () => Date;
      maxBatch?: number;
      maxInFlight?: number;
      /**
       * The postgres.js client under `db`, if any: each batch then runs on a reserved connection
       * with its statements pipelined — BEGIN with the batch statement, the audit append with
       * COMMIT — two round trips instead of a transaction's five.
       */
      sql?: postgres.Sql;
    },
  ) {}

  /** Resolves once the lookup's audit entry (and nonce) is durable, with its answer; or `replayed`. */
  commit<T>(item: LookupItem<T>): Promise<LookupOutcome<T>> {
    return new Promise<LookupOutcome<T>>((resolve, reject) => {
      this.#queue.push({ item, resolve: resolve as Pending['resolve'], reject });
      this.#schedule();
    });
  }

  /** Starts a batch on the next turn of the event loop, if another may run (the lookups of this turn join it). */
  #schedule(): void {
    if (this.#scheduled || this.#reading || this.#queue.length === 0) return;
    if (this.#inFlight >= (this.deps.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT)) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#run();
    });
  }

  async #run(): Promise<void> {
    const batch = this.#queue.splice(0, this.deps.maxBatch ?? DEFAULT_MAX_BATCH);
    if (batch.length === 0) return;
    this.#inFlight++;
    this.#reading = true;
    let reading = true;
    const readDone = () => {
      if (!reading) return;
      reading = false;
      this.#reading = false;
      this.#schedule();
    };
    try {
      const outcomes = await this.#write(batch, readDone);
      batch.forEach((p, i) => {
        const o = outcomes[i];
        if (o && 'error' in o) p.reject(o.error);
        else p.resolve(o ?? { ok: false, reason: 'replayed' });
      });
    } catch (err) {
      for (const p of batch) p.reject(err);
    } finally {
      this.#inFlight--;
      readDone();
      this.#schedule();
    }
  }

  async #write(
    batch: Pending[],
    readDone: () => void,
  ): Promise<(LookupOutcome<unknown> | { error: unknown })[]> {
    // A nonce twice in one batch: the first use stands, the others are replays (never read).
    const seen = new Set<string>();
    const asked: Asked[] = [];
    const duplicate = batch.map(({ item }, i) => {
      const jti = item.jti?.jti;
      if (jti !== undefined) {
        if (seen.has(jti)) return true;
        seen.add(jti);
      }
      if (item.who || item.jti) {
        asked.push({
          i,
          pmh_id: item.who && 'pmhId' in item.who ? item.who.pmhId : null,
          pseudonym: item.who && 'pseudonym' in item.who ? item.who.pseudonym : null,
          jti: jti ?? null,
          expires_at: item.jti?.expiresAt.toISOString() ?? null,
          d: item.dateOfCare ?? null,
        });
      }
      return false;
    });
    // The chain's head is created once; each batch's append then locks it within one statement.
    this.#chain ??= ensureAuditChain(this.deps.db, LOOKUP_AUDIT_CHAIN).catch((err: unknown) => {
      this.#chain = undefined;
      throw err;
    });
    await this.#chain;
    const settle = (rows: Row[]) => settleBatch(batch, duplicate, rows);
    if (this.deps.sql) return this.#writePipelined(this.deps.sql, asked, settle, readDone);
    return this.deps.db.transaction(async (tx) => {
      const rows = asked.length > 0 ? await queryRows<Row>(tx, readAndMarkUsed(asked)) : [];
      readDone();
      const { entries, outcomes } = settle(rows);
      if (entries.length > 0)
        await tx.execute(appendAuditStatement(LOOKUP_AUDIT_CHAIN, entries, this.deps.clock()));
      return outcomes;
    });
  }

  /**
   * The same transaction on a reserved postgres.js connection, pipelined: BEGIN and the batch
   * statement go out in one write, then the audit append and COMMIT in another. Both statements
   * are prepared (constant text), so neither waits for a Describe. If the append fails, the
   * COMMIT that follows it in the pipeline only rolls back (PostgreSQL answers ROLLBACK), and
   * the batch fails: no answer leaves without its entry committed.
   */
  async #writePipelined(
    client: postgres.Sql,
    asked: Asked[],
    settle: (rows: Row[]) => { entries: AuditEntryInput[]; outcomes: Outcome[] },
    readDone: () => void,
  ): Promise<Outcome[]> {
    const conn = await client.reserve();
    let open = false;
    try {
      const begin = conn.unsafe('begin').execute();
      open = true;
      const read = asked.length > 0 ? run<Row>(conn, readAndMarkUsed(asked)) : Promise.resolve([]);
      read.catch(() => {});
      await begin;
      const rows = await read;
      readDone();
      const { entries, outcomes } = settle(rows);
      const append =
        entries.length > 0
          ? run(conn, appendAuditStatement(LOOKUP_AUDIT_CHAIN, entries, this.deps.clock()))
          : Promise.resolve([]);
      append.catch(() => {});
      const commit = conn.unsafe('commit').execute();
      commit.catch(() => {});
      await append;
      const done = await commit;
      open = false;
      if ((done as unknown as { command?: string }).command !== 'COMMIT')
        throw new Error(
          `the lookup batch did not commit (${(done as unknown as { command?: string }).command})`,
        );
      return outcomes;
    } catch (err) {
      if (open) await conn.unsafe('rollback').catch(() => {});
      throw err;
    } finally {
      conn.release();
    }
  }
}

type Outcome = LookupOutcome<unknown> | { error: unknown };

const dialect = new PgDialect();

/** Sends a drizzle statement on a postgres.js connection now, prepared (its text is constant). */
function run<T>(conn: postgres.ReservedSql, statement: SQL): Promise<T[]> {
  const q = dialect.sqlToQuery(statement);
  return conn
    .unsafe(q.sql, q.params as postgres.ParameterOrJSON<never>[], { prepare: true })
    .execute() as unknown as Promise<T[]>;
}

/**
 * From what the batch statement read: each lookup's answer and audit entry (or its replay's
 * entry), in the batch's order.
 */
function settleBatch(
  batch: Pending[],
  duplicate: boolean[],
  rows: Row[],
): { entries: AuditEntryInput[]; outcomes: Outcome[] } {
  const found = new Map<number, { fresh: boolean; found: Found }>();
  for (const r of rows) {
    let f = found.get(r.i);
    if (!f) {
      f = { fresh: r.fresh, found: { pmhId: r.pmh_id, rows: [] } };
      found.set(r.i, f);
    }
    if (r.entitlement_id !== null && r.sealed !== null)
      f.found.rows.push({ entitlementId: r.entitlement_id, sealed: asBuffer(r.sealed) });
  }
  const entries: AuditEntryInput[] = [];
  const outcomes = batch.map(({ item }, i): Outcome => {
    const f = found.get(i);
    if (duplicate[i] || (item.jti && !f?.fresh)) {
      if (item.replayed) entries.push(item.replayed);
      return { ok: false, reason: 'replayed' };
    }
    try {
      const { value, entry } = item.answer(f?.found ?? { pmhId: null, rows: [] });
      entries.push(entry);
      return { ok: true, value };
    } catch (error) {
      return { error };
    }
  });
  return { entries, outcomes };
}

/**
 * One statement for a whole batch: records the nonces as used (`fresh` = this insert did it),
 * resolves pseudonyms, and reads each fresh lookup's entitlements valid on its date — 不開示
 * and 閲覧停止 never, a forcibly expired one up to its date — in a stable order.
 */
function readAndMarkUsed(asked: Asked[]): SQL {
  return sql`with asked as (
          select * from jsonb_to_recordset(${JSON.stringify(asked)}::jsonb)
            as x(i int, pmh_id text, pseudonym text, jti text, expires_at timestamptz, d date)
        ),
        used as (
          insert into hub.used_linkage_keys (jti, expires_at)
          select jti, expires_at from asked where jti is not null order by jti
          on conflict do nothing returning jti
        )
        -- LATERAL: an index lookup per asked row, whatever the planner guesses of the recordset.
        select a.i, w.pmh_id, w.fresh, e.entitlement_id, e.sealed
        from asked a
        cross join lateral (
          select coalesce(a.pmh_id, (select p.pmh_id from hub.pseudonyms p where p.pseudonym = a.pseudonym)) as pmh_id,
                 (a.jti is null or exists (select from used u where u.jti = a.jti)) as fresh
        ) w
        left join lateral (
          select e.entitlement_id, e.sealed, e.tenant_code, e.valid_from
          from hub.entitlement_index e
          where w.fresh and a.d is not null
            and e.pmh_id = w.pmh_id
            and not e.is_not_disclosed
            and not e.viewing_suspended
            and e.valid_from <= a.d
            and (e.valid_to is null or e.valid_to >= a.d)
            and (e.forced_expiry_date is null or e.forced_expiry_date >= a.d)
        ) e on true
        order by a.i, e.tenant_code, e.valid_from, e.entitlement_id`;
}

/** postgres.js gives bytea as a Buffer, PGlite as a Uint8Array (STACK.md). */
function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}
