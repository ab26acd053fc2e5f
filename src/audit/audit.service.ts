import { createHash } from 'node:crypto';
import { and, asc, eq, gt, sql } from 'drizzle-orm';
import { bulkInsert, bulkInsertStatement } from '../db/bulk.js';
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

function entryHash(prev: Buffer, e: Omit<EntryRow, 'hash' | 'prevHash'>): Buffer {
  return createHash('sha256')
    .update(prev)
    .update(
      JSON.stringify([
        e.tenantCode,
        e.seq,
        e.at.toISOString(),
        e.actorKind,
        e.actorId,
        e.action,
        e.subjectRef,
        e.requestId,
        e.detail,
      ]),
    )
    .digest();
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
  let { seq, hash } = await lockAuditChain(tx, tenantCode);
  const rows: EntryRow[] = entries.map((input) => {
    seq += 1;
    const base = {
      tenantCode,
      seq,
      at,
      actorKind: input.actor.kind,
      actorId: input.actor.id,
      action: input.action,
      subjectRef: input.subjectRef ?? null,
      requestId: input.requestId ?? null,
      detail: input.detail ? JSON.stringify(input.detail) : null,
    };
    const prevHash = hash;
    hash = entryHash(prevHash, base);
    return { ...base, prevHash, hash };
  });
  const chunk = (i: number) =>
    rows.slice(i, i + INSERT_CHUNK).map((r) => ({
      tenant_code: r.tenantCode,
      seq: r.seq,
      at: r.at,
      actor_kind: r.actorKind,
      actor_id: r.actorId,
      action: r.action,
      subject_ref: r.subjectRef,
      request_id: r.requestId,
      detail: r.detail,
      prev_hash: r.prevHash,
      hash: r.hash,
    }));
  const last = Math.floor((rows.length - 1) / INSERT_CHUNK) * INSERT_CHUNK;
  for (let i = 0; i < last; i += INSERT_CHUNK) await bulkInsert(tx, 'audit.entries', ENTRY_COLUMNS, chunk(i));
  // The last chunk and the new head in one statement (a data-modifying CTE always runs).
  await tx.execute(
    sql`with appended as (${bulkInsertStatement('audit.entries', ENTRY_COLUMNS, chunk(last))})
        update audit.heads set seq = ${seq}, hash = decode(${hash.toString('base64')}, 'base64')
         where tenant_code = ${tenantCode}`,
  );
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
