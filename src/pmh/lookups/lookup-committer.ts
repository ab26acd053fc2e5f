import type { SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type postgres from 'postgres';
import { type AuditEntryInput, auditAppendCtes, ensureAuditChain } from '../../audit/index.js';
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

/**
 * Values of a lookup's audit entry that the batch statement fills in from what it found: use
 * them as whole values in the entry's `detail`.
 */
export const FOUND = {
  /** The number of read-model rows found: the entitlements the answer holds. */
  returned: '\u0001returned',
  /** Whether the lookup's person is known (a pseudonym may be unknown). */
  known: '\u0001known',
} as const;

/** As an entry's `subjectRef`: the PMH-ID the lookup found (a pseudonym's person; null if unknown). */
export const FOUND_PMH_ID: unique symbol = Symbol('the PMH-ID found');

/** The audit entry of a lookup, with {@link FOUND} values and {@link FOUND_PMH_ID} filled in by the statement. */
export type LookupEntry = Omit<AuditEntryInput, 'subjectRef'> & {
  subjectRef?: string | null | typeof FOUND_PMH_ID;
};

/** One lookup handed to {@link LookupCommitter.commit}. */
export interface LookupItem<T> {
  /** Whose entitlements to read: a PMH-ID, or a portal pseudonym resolved in the same query; none reads nothing. */
  who?: { pmhId: string } | { pseudonym: string };
  /** The date the entitlements must be valid on (YYYY-MM-DD). */
  dateOfCare?: string;
  /** A linkage key's nonce: recorded as used in the same statement; a used one is `replayed`. */
  jti?: { jti: string; expiresAt: Date };
  /**
   * The lookup's audit entry, appended by the batch's statement with what that statement found
   * ({@link FOUND}, {@link FOUND_PMH_ID}), so it records what the answer holds.
   */
  entry: LookupEntry;
  /**
   * Builds the answer from what was found, once the batch has committed. A throw fails this
   * lookup only (its entry stays: it records what the hub read to answer).
   */
  answer(found: Found): T;
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

/** An audit entry's columns as the statement takes them. */
interface EntryColumns {
  actor_kind: string;
  actor_id: string;
  action: string;
  subject_ref: string | null;
  subject_found: boolean;
  request_id: string | null;
  detail: string | null;
}

/**
 * Per lookup of a batch, as the statement takes it (`i` = its place in the batch): what to read,
 * its entry when fresh (`e`), and its entry when its nonce was used already (`r`, or none).
 */
interface Asked {
  i: number;
  pmh_id: string | null;
  pseudonym: string | null;
  jti: string | null;
  expires_at: string | null;
  d: string | null;
  e: EntryColumns | null;
  r: EntryColumns | null;
}

interface Row {
  i: number;
  pmh_id: string | null;
  fresh: boolean;
  entitlement_id: string | null;
  sealed: Uint8Array | null;
}

type Outcome = LookupOutcome<unknown> | { error: unknown };

const DEFAULT_MAX_BATCH = 500;
const DEFAULT_MAX_IN_FLIGHT = 2;

/**
 * Group commit for lookups (seed ㉘ ㉙). Lookups queue up; each batch is one statement, which
 * is its own transaction: it records the linkage keys' nonces as used, resolves portal
 * pseudonyms, reads every lookup's valid entitlements, and appends each lookup's audit entry to
 * the lookups' chain — built in the statement from what it read (how many entitlements, whose)
 * — so that no round trip separates the read from the append. The answers are built from what
 * it read and released only after it committed (PostgreSQL with fsync: durable), so no audit
 * entry can be lost once an answer is out; a crash before it loses the answer with the entry.
 * A nonce already used (or twice in one batch) comes back `replayed`, is audited as such, and
 * reads nothing.
 *
 * One round trip per batch: on postgres.js (`sql`) the statement is prepared, so it goes out as
 * Bind, Execute and Sync in one socket write; PostgreSQL commits it at Sync and postgres.js
 * resolves it only at ReadyForQuery, after the commit. The chain is locked only while
 * PostgreSQL runs the statement and commits it.
 *
 * Overlap: at most `maxInFlight` (2) batches at once, so the next batch's statement reads and
 * marks its nonces while the previous one appends and commits; the chain's lock orders their
 * appends. Deadlock-free: nonces are inserted in sorted order, and all of a batch's nonces before
 * the chain's lock (the statement's main query reads every lookup's `fresh`, which runs the nonce
 * insert to its end; the chain's CTEs run only after the main query). Batches are taken whole from the queue up to `maxBatch` (500), never held back
 * to grow.
 *
 * @example
 * const outcome = await committer.commit({ who: { pmhId }, dateOfCare, jti, entry, answer: (found) => ... });
 */
export class LookupCommitter {
  #queue: Pending[] = [];
  #inFlight = 0;
  #scheduled = false;

  #chain: Promise<void> | undefined;

  constructor(
    private readonly deps: {
      db: Db;
      clock: () => Date;
      maxBatch?: number;
      maxInFlight?: number;
      /**
       * The postgres.js client under `db`, if any: each batch's statement then runs prepared, in
       * one round trip (through drizzle it would be described first, in another).
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
    if (this.#scheduled || this.#queue.length === 0) return;
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
    let outcomes: Outcome[];
    try {
      outcomes = await this.#write(batch);
    } catch (error) {
      outcomes = batch.map(() => ({ error }));
    } finally {
      this.#inFlight--;
      this.#schedule();
    }
    batch.forEach((p, i) => {
      const o = outcomes[i] ?? { error: new Error('no outcome') };
      if ('error' in o) p.reject(o.error);
      else p.resolve(o);
    });
  }

  async #write(batch: Pending[]): Promise<Outcome[]> {
    // A nonce twice in one batch: the first use stands, the others are replays (never read).
    const seen = new Set<string>();
    const duplicate: boolean[] = [];
    const asked = batch.map(({ item }, i): Asked => {
      const jti = item.jti?.jti;
      const dup = jti !== undefined && seen.has(jti);
      if (jti !== undefined) seen.add(jti);
      duplicate.push(dup);
      const r = item.replayed ? entryColumns(item.replayed) : null;
      if (dup) return { i, pmh_id: null, pseudonym: null, jti: null, expires_at: null, d: null, e: r, r };
      return {
        i,
        pmh_id: item.who && 'pmhId' in item.who ? item.who.pmhId : null,
        pseudonym: item.who && 'pseudonym' in item.who ? item.who.pseudonym : null,
        jti: jti ?? null,
        expires_at: item.jti?.expiresAt.toISOString() ?? null,
        d: item.dateOfCare ?? null,
        e: entryColumns(item.entry),
        r,
      };
    });
    // The chain's head is created once; each batch's statement then locks it.
    this.#chain ??= ensureAuditChain(this.deps.db, LOOKUP_AUDIT_CHAIN).catch((err: unknown) => {
      this.#chain = undefined;
      throw err;
    });
    await this.#chain;
    const askedJson = JSON.stringify(asked);
    const at = this.deps.clock();
    const rows = this.deps.sql
      ? await runPrepared<Row>(this.deps.sql, batchQuery(askedJson, at))
      : await queryRows<Row>(this.deps.db, batchStatement(askedJson, at));
    return settleBatch(batch, duplicate, rows);
  }
}

/**
 * An entry's columns; the detail as JSON text with each {@link FOUND} value left as its raw
 * marker for the statement to replace (JSON.stringify escapes every control character, so a
 * raw U+0001 occurs nowhere else in its output).
 */
function entryColumns(e: LookupEntry): EntryColumns {
  return {
    actor_kind: e.actor.kind,
    actor_id: e.actor.id,
    action: e.action,
    subject_ref: typeof e.subjectRef === 'string' ? e.subjectRef : null,
    subject_found: e.subjectRef === FOUND_PMH_ID,
    request_id: e.requestId ?? null,
    detail: e.detail
      ? JSON.stringify(e.detail)
          .replaceAll(JSON.stringify(FOUND.returned), FOUND.returned)
          .replaceAll(JSON.stringify(FOUND.known), FOUND.known)
      : null,
  };
}

const dialect = new PgDialect();

/** Sends a query through postgres.js, prepared (its text is constant). */
function runPrepared<T>(client: postgres.Sql, q: { sql: string; params: unknown[] }): Promise<T[]> {
  return client.unsafe(q.sql, q.params as postgres.ParameterOrJSON<never>[], {
    prepare: true,
  }) as unknown as Promise<T[]>;
}

/** Marks where a batch's own values go in {@link batchTemplate} (neither can occur otherwise). */
const ASKED_SLOT = '\u0000asked';
const AT_SLOT = new Date(Date.UTC(1900, 0, 1, 0, 0, 0, 1));

interface Template {
  sql: string;
  params: unknown[];
  /** Where the asked lookups, the time and the time as JSON text go. */
  asked: number[];
  iso: number[];
  isoJson: number[];
}
let template: Template | undefined;

/**
 * The batch statement's text and parameters, built by drizzle once: per batch only the asked
 * lookups and the time change. Walking the statement's tree each time cost ~26 µs and ~19 KB of
 * garbage per batch: at a paced 2,000 lookups/s (batches of ~3) about a third of the lookup
 * worker's garbage, whose collections paused its batches 4–8 ms twice a second.
 */
function batchTemplate(): Template {
  if (template) return template;
  const q = dialect.sqlToQuery(batchStatement(ASKED_SLOT, AT_SLOT));
  const iso = AT_SLOT.toISOString();
  const at = (v: unknown) => q.params.flatMap((p, k) => (p === v ? [k] : []));
  const t: Template = {
    sql: q.sql,
    params: q.params,
    asked: at(ASKED_SLOT),
    iso: at(iso),
    isoJson: at(JSON.stringify(iso)),
  };
  if (t.asked.length !== 1 || t.iso.length + t.isoJson.length === 0)
    throw new Error('the lookup batch statement changed shape: its template no longer fits');
  template = t;
  return t;
}

/** The batch statement for postgres.js, from {@link batchTemplate}: the same text and parameters drizzle would build. */
export function batchQuery(askedJson: string, at: Date): { sql: string; params: unknown[] } {
  const t = batchTemplate();
  const params = t.params.slice();
  const iso = at.toISOString();
  for (const k of t.asked) params[k] = askedJson;
  for (const k of t.iso) params[k] = iso;
  for (const k of t.isoJson) params[k] = JSON.stringify(iso);
  return { sql: t.sql, params };
}

/** From what the batch statement read: each lookup's outcome, in the batch's order. */
function settleBatch(batch: Pending[], duplicate: boolean[], rows: Row[]): Outcome[] {
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
  return batch.map(({ item }, i): Outcome => {
    const f = found.get(i);
    if (duplicate[i] || (item.jti && !f?.fresh)) return { ok: false, reason: 'replayed' };
    try {
      return { ok: true, value: item.answer(f?.found ?? { pmhId: null, rows: [] }) };
    } catch (error) {
      return { error };
    }
  });
}

/**
 * The batch's one statement: records the nonces as used (`fresh` = this insert did it), resolves
 * pseudonyms, reads each fresh lookup's entitlements valid on its date — 不開示 and 閲覧停止
 * never, a forcibly expired one up to its date — in a stable order, and appends each lookup's
 * entry (its replay's when not fresh; none if it has none) in the batch's order, with the number
 * of rows found and the person found filled in. `askedJson`: the batch's {@link Asked} rows as JSON.
 */
export function batchStatement(askedJson: string, at: Date): SQL {
  return sql`with recursive
        asked as (
          select * from jsonb_to_recordset(${askedJson}::jsonb)
            as x(i int, pmh_id text, pseudonym text, jti text, expires_at timestamptz, d date, e jsonb, r jsonb)
        ),
        used as (
          insert into hub.used_linkage_keys (jti, expires_at)
          select jti, expires_at from asked where jti is not null order by jti
          on conflict do nothing returning jti
        ),
        w as (
          select a.i, a.d, x.who, x.fresh, case when x.fresh then a.e else a.r end as entry
          from asked a
          cross join lateral (
            select coalesce(a.pmh_id, (select p.pmh_id from hub.pseudonyms p where p.pseudonym = a.pseudonym)) as who,
                   (a.jti is null or exists (select from used u where u.jti = a.jti)) as fresh
          ) x
        ),
        -- LATERAL with OFFSET 0 (never flattened into a join): an index lookup per asked row,
        -- whatever the planner guesses of the recordset (flattened, it hashed a scan of the
        -- whole read model at 20,000 subjects).
        found as (
          select w.i, w.who, w.fresh, e.entitlement_id, e.sealed, e.tenant_code, e.valid_from
          from w
          left join lateral (
            select e.entitlement_id, e.sealed, e.tenant_code, e.valid_from
            from hub.entitlement_index e
            where w.fresh and w.d is not null
              and e.pmh_id = w.who
              and not e.is_not_disclosed
              and not e.viewing_suspended
              and e.valid_from <= w.d
              and (e.valid_to is null or e.valid_to >= w.d)
              and (e.forced_expiry_date is null or e.forced_expiry_date >= w.d)
            offset 0
          ) e on true
        ),
        counted as (select i, count(entitlement_id)::int as n from found group by i),
        entries as (
          select row_number() over (order by w.i)::int as n,
                 w.entry->>'actor_kind' as actor_kind,
                 w.entry->>'actor_id' as actor_id,
                 w.entry->>'action' as action,
                 coalesce(w.entry->>'subject_ref', case when (w.entry->>'subject_found')::boolean then w.who end) as subject_ref,
                 w.entry->>'request_id' as request_id,
                 replace(replace(w.entry->>'detail', ${FOUND.returned}, c.n::text),
                         ${FOUND.known}, (w.who is not null)::text) as detail
          from w join counted c on c.i = w.i
          where w.entry is not null and jsonb_typeof(w.entry) = 'object'
        ),
        ${auditAppendCtes(LOOKUP_AUDIT_CHAIN, sql`entries`, at)}
        select f.i, f.who as pmh_id, f.fresh, f.entitlement_id, f.sealed
        from found f
        order by f.i, f.tenant_code, f.valid_from, f.entitlement_id`;
}

/** postgres.js gives bytea as a Buffer, PGlite as a Uint8Array. */
function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}
