import { createHash } from 'node:crypto';
import { and, asc, eq, gt, type SQL, sql } from 'drizzle-orm';
import { bulkInsert, bulkInsertStatement, COPY_FROM_ROWS } from '../db/bulk.js';
import type { Db } from '../db/client.js';
import type { AuditEntryInput } from './audit.actions.js';
import { auditEntries, auditHeads } from './audit.tables.js';

const GENESIS = Buffer.alloc(32);
const INSERT_CHUNK = 5000;
const ENTRY_COLUMNS = {
  tenant_code: 'text',
  seq: 'bigint',
  at: 'timestamptz',
  actor_kind: 'text',
  actor_id: 'text',
  action: 'text',
  subject_ref: 'text',
  request_id: 'text',
  detail: 'text',
  prev_hash: 'bytea',
  hash: 'bytea',
} as const;

type EntryRow = typeof auditEntries.$inferSelect;

/**
 * An entry's hash: SHA-256 over the previous hash and the JSON text of `[tenantCode, seq, at,
 * actorKind, actorId, action, subjectRef, requestId, detail]`. The text is built from a
 * chain's constant parts (`tenant` = `[` + JSON tenant code + `,`; `at` = `,` + JSON ISO time
 * + `,`) and the entry's own, so a batch computes the constant parts once.
 */
function hashEntry(
  prev: Buffer,
  tenant: string,
  seq: number,
  at: string,
  rest: readonly [string, string, string, string | null, string | null, string | null],
): Buffer {
  return createHash('sha256')
    .update(prev)
    .update(tenant + seq + at + JSON.stringify(rest).slice(1))
    .digest();
}

const tenantPart = (tenantCode: string) => `[${JSON.stringify(tenantCode)},`;
const atPart = (at: Date) => `,${JSON.stringify(at.toISOString())},`;

function entryHash(prev: Buffer, e: Omit<EntryRow, 'hash' | 'prevHash'>): Buffer {
  return hashEntry(prev, tenantPart(e.tenantCode), e.seq, atPart(e.at), [
    e.actorKind,
    e.actorId,
    e.action,
    e.subjectRef,
    e.requestId,
    e.detail,
  ]);
}

/**
 * Locks the tenant's audit chain for the rest of the transaction and returns its head.
 * Taking it first also serialises a tenant's writes, which the hub relies on.
 *
 * @example
 * await db.transaction(async (tx) => { await lockAuditChain(tx, '130001'); ... });
 */
export async function lockAuditChain(tx: Db, tenantCode: string): Promise<{ seq: number; hash: Buffer }> {
  // One round trip: creates the head on first use, otherwise locks the row (ON CONFLICT DO
  // UPDATE takes the same row lock as SELECT … FOR UPDATE) and returns it unchanged.
  const [head] = await tx
    .insert(auditHeads)
    .values({ tenantCode, seq: 0, hash: GENESIS })
    .onConflictDoUpdate({ target: auditHeads.tenantCode, set: { tenantCode: sql`excluded.tenant_code` } })
    .returning({ seq: auditHeads.seq, hash: auditHeads.hash });
  if (!head) throw new Error('audit head vanished');
  return { seq: head.seq, hash: head.hash };
}

/**
 * Appends entries to the tenant's chain inside the caller's transaction (seed Ⅲ.3; A31):
 * the entries commit or roll back with the change they record.
 *
 * @example
 * await appendAudit(tx, '130001', [{ actor, action: AUDIT_ACTIONS.subjectViewed, subjectRef: id }], new Date());
 */
export async function appendAudit(
  tx: Db,
  tenantCode: string,
  entries: readonly AuditEntryInput[],
  at: Date,
): Promise<void> {
  if (entries.length === 0) return;
  await appendAuditAt(tx, tenantCode, await lockAuditChain(tx, tenantCode), entries, at);
}

/**
 * {@link appendAudit} for a caller that already holds the chain ({@link lockAuditChain}
 * earlier in the same transaction, whose answer is `head`): one round trip less.
 *
 * @example
 * const head = await lockAuditChain(tx, '130001'); …; await appendAuditAt(tx, '130001', head, entries, now);
 */
export async function appendAuditAt(
  tx: Db,
  tenantCode: string,
  head: { seq: number; hash: Buffer },
  entries: readonly AuditEntryInput[],
  at: Date,
): Promise<void> {
  if (entries.length === 0) return;
  let { seq, hash } = head;
  const tenant = tenantPart(tenantCode);
  const atText = atPart(at);
  // Rows in the columns' own names, as COPY and the statement take them.
  const rows = entries.map((input) => {
    seq += 1;
    const subjectRef = input.subjectRef ?? null;
    const requestId = input.requestId ?? null;
    const detail = input.detail ? JSON.stringify(input.detail) : null;
    const prevHash = hash;
    hash = hashEntry(prevHash, tenant, seq, atText, [
      input.actor.kind,
      input.actor.id,
      input.action,
      subjectRef,
      requestId,
      detail,
    ]);
    return {
      tenant_code: tenantCode,
      seq,
      at,
      actor_kind: input.actor.kind,
      actor_id: input.actor.id,
      action: input.action,
      subject_ref: subjectRef,
      request_id: requestId,
      detail,
      prev_hash: prevHash,
      hash,
    };
  });
  const chunk = (i: number) => (rows.length <= INSERT_CHUNK ? rows : rows.slice(i, i + INSERT_CHUNK));
  const moveHead = sql`update audit.heads set seq = ${seq}, hash = decode(${hash.toString('base64')}, 'base64')
                         where tenant_code = ${tenantCode}`;
  if (rows.length < COPY_FROM_ROWS) {
    // A few entries and the new head in one statement (a data-modifying CTE always runs).
    await tx.execute(
      sql`with appended as (${bulkInsertStatement('audit.entries', ENTRY_COLUMNS, chunk(0))}) ${moveHead}`,
    );
    return;
  }
  // Many: loaded by binary COPY (bulkInsert), then the head moves.
  for (let i = 0; i < rows.length; i += INSERT_CHUNK)
    await bulkInsert(tx, 'audit.entries', ENTRY_COLUMNS, chunk(i));
  await tx.execute(moveHead);
}

/**
 * Creates a chain's head if it does not exist yet (genesis), without locking it: what
 * {@link appendAuditStatement} needs before its first use on a chain.
 *
 * @example
 * await ensureAuditChain(db, 'lookups');
 */
export async function ensureAuditChain(db: Db, tenantCode: string): Promise<void> {
  await db.insert(auditHeads).values({ tenantCode, seq: 0, hash: GENESIS }).onConflictDoNothing();
}

/**
 * One statement that appends entries to a chain whose head exists ({@link ensureAuditChain}):
 * it locks the head (`for update`), computes each entry's hash in PostgreSQL (`sha256` over the
 * previous hash and the same JSON text {@link verifyAuditChain} checks), inserts the entries and
 * moves the head. No round trip to the client while the chain is locked, so a caller can send
 * it together with its COMMIT. A missing head fails the statement (NOT NULL), never drops the
 * entries silently. The statement's text is the same for any entries (one prepared plan).
 *
 * @example
 * await tx.execute(appendAuditStatement('lookups', entries, new Date()));
 */
export function appendAuditStatement(tenantCode: string, entries: readonly AuditEntryInput[], at: Date): SQL {
  const rows = entries.map((input, i) => ({
    n: i + 1,
    actor_kind: input.actor.kind,
    actor_id: input.actor.id,
    action: input.action,
    subject_ref: input.subjectRef ?? null,
    request_id: input.requestId ?? null,
    detail: input.detail ? JSON.stringify(input.detail) : null,
  }));
  return sql`with recursive
    e as (
      select * from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
        as x(n int, actor_kind text, actor_id text, action text, subject_ref text, request_id text, detail text)
    ),
    ${auditAppendCtes(tenantCode, sql`e`, at)}
    select count(*)::int as appended from moved`;
}

/**
 * The CTEs of a `with recursive` statement that append entries to a chain whose head exists
 * ({@link ensureAuditChain}), for a caller that computes its entries in the same statement:
 * `entries` names a relation of `n` (1, 2, … in chain order), `actor_kind`, `actor_id`,
 * `action`, `subject_ref`, `request_id`, `detail` (text). They lock the head (`for update`),
 * hash each entry over the previous hash and the JSON text {@link verifyAuditChain} checks
 * (built with `to_json`, whose escaping is JSON.stringify's), insert the entries and move the
 * head (`moved`); an empty `entries` appends nothing. Defines `head`, `chain`, `appended` and
 * `moved`.
 *
 * @example
 * sql`with recursive e as (…), ${auditAppendCtes('lookups', sql`e`, new Date())} select …`
 */
export function auditAppendCtes(tenantCode: string, entries: SQL, at: Date): SQL {
  const iso = at.toISOString();
  // JSON.stringify([tenantCode, seq, iso, actorKind, actorId, action, subjectRef, requestId, detail])
  // === pre || seq || the rest (entryHash's input).
  const pre = `${JSON.stringify([tenantCode]).slice(0, -1)},`;
  const j = (column: string) => sql.raw(`coalesce(to_json(e.${column})::text, 'null')`);
  return sql`head as (select seq, hash from audit.heads where tenant_code = ${tenantCode} for update),
    chain as (
      select 0 as n, h.seq, h.hash, null::bytea as prev from (select 1) one left join head h on true
      union all
      select c.n + 1, c.seq + 1,
             sha256(c.hash || convert_to(${pre}::text || (c.seq + 1)::text || ',' || ${JSON.stringify(iso)}::text
               || ',' || ${j('actor_kind')} || ',' || ${j('actor_id')} || ',' || ${j('action')}
               || ',' || ${j('subject_ref')} || ',' || ${j('request_id')} || ',' || ${j('detail')} || ']', 'UTF8')),
             c.hash
      from chain c join ${entries} e on e.n = c.n + 1
    ),
    appended as (
      insert into audit.entries (tenant_code, seq, at, actor_kind, actor_id, action, subject_ref, request_id, detail, prev_hash, hash)
      select ${tenantCode}, c.seq, ${iso}::timestamptz, e.actor_kind, e.actor_id, e.action, e.subject_ref,
             e.request_id, e.detail, c.prev, c.hash
      from chain c join ${entries} e on e.n = c.n
    ),
    moved as (
      update audit.heads h set seq = l.seq, hash = l.hash
      from (select seq, hash from chain where n > 0 order by n desc limit 1) l
      where h.tenant_code = ${tenantCode}
      returning 1
    )`;
}

/** The verdict of {@link verifyAuditChain}. */
export type AuditVerification =
  | { ok: true; entries: number }
  | { ok: false; seq: number; problem: 'missing' | 'edited' | 'reordered' | 'truncated' };

/**
 * Walks a tenant's chain and finds the first edited, deleted, reordered or cut-off entry.
 *
 * @example
 * const v = await verifyAuditChain(db, '130001'); // { ok: true, entries: 42 }
 */
export async function verifyAuditChain(db: Db, tenantCode: string): Promise<AuditVerification> {
  let expectedSeq = 1;
  let prev: Buffer = GENESIS;
  for (;;) {
    const page = await db
      .select()
      .from(auditEntries)
      .where(and(eq(auditEntries.tenantCode, tenantCode), gt(auditEntries.seq, expectedSeq - 1)))
      .orderBy(asc(auditEntries.seq))
      .limit(5000);
    if (page.length === 0) break;
    for (const row of page) {
      if (row.seq !== expectedSeq) return { ok: false, seq: expectedSeq, problem: 'missing' };
      if (!row.prevHash.equals(prev)) return { ok: false, seq: row.seq, problem: 'reordered' };
      if (!entryHash(prev, row).equals(row.hash)) return { ok: false, seq: row.seq, problem: 'edited' };
      prev = row.hash;
      expectedSeq += 1;
    }
  }
  const [head] = await db.select().from(auditHeads).where(eq(auditHeads.tenantCode, tenantCode));
  const last = expectedSeq - 1;
  if (head && (head.seq !== last || !head.hash.equals(prev))) {
    return { ok: false, seq: last + 1, problem: 'truncated' };
  }
  return { ok: true, entries: last };
}
