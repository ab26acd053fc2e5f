import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  AUDIT_ACTIONS,
  appendAudit,
  appendAuditStatement,
  ensureAuditChain,
  verifyAuditChain,
} from '../../src/audit/index.js';
import { queryRows, sql, sqlState } from '../../src/db/client.js';
import { createHarness } from '../support/harness.js';

const h = await createHarness();
const actor = { kind: 'client' as const, id: 'cli_test' };

async function chainOf(n: number) {
  const t = await h.tenant();
  await h.database.db.transaction(async (tx) => {
    await appendAudit(
      tx,
      t.municipalityCode,
      Array.from({ length: n }, (_, i) => ({
        actor,
        action: AUDIT_ACTIONS.subjectViewed,
        subjectRef: `s${i}`,
        requestId: `r${i}`,
      })),
      new Date('2026-04-01T00:00:00Z'),
    );
  });
  return t.municipalityCode;
}

async function asSuperuser<T>(fn: () => Promise<T>): Promise<T> {
  await queryRows(h.database.db, sql`alter table audit.entries disable trigger entries_no_update_delete`);
  try {
    return await fn();
  } finally {
    await queryRows(h.database.db, sql`alter table audit.entries enable trigger entries_no_update_delete`);
  }
}

describe('the audit log', () => {
  it('verifies an untouched chain', async () => {
    const tenant = await chainOf(5);
    expect(await verifyAuditChain(h.database.db, tenant)).toEqual({ ok: true, entries: 5 });
  });

  it('hashes each entry over the previous hash and the JSON array of its nine fields, the format existing chains hold', async () => {
    const t = await h.tenant();
    const at = new Date('2026-04-01T09:30:00.123Z');
    const detail = { outcome: 'assigned', note: 'quote " backslash \\ 東京 \u2028' };
    const entries = Array.from({ length: 20 }, (_, i) => ({
      actor,
      action: AUDIT_ACTIONS.subjectViewed,
      subjectRef: i % 3 === 0 ? null : `s${i}`,
      requestId: i % 2 === 0 ? `r${i}` : null,
      ...(i % 4 === 0 ? {} : { detail }),
    }));
    await h.database.db.transaction((tx) => appendAudit(tx, t.municipalityCode, entries, at));
    const rows = await queryRows<{ seq: string; hash: string }>(
      h.database.db,
      sql`select e.seq::text as seq, encode(e.hash, 'hex') as hash from audit.entries e
           where e.tenant_code = ${t.municipalityCode} order by e.seq`,
    );
    let prev = Buffer.alloc(32);
    const expected = entries.map((e, i) => {
      const text = JSON.stringify([
        t.municipalityCode,
        i + 1,
        at.toISOString(),
        e.actor.kind,
        e.actor.id,
        e.action,
        e.subjectRef,
        e.requestId,
        'detail' in e ? JSON.stringify(e.detail) : null,
      ]);
      prev = createHash('sha256').update(prev).update(text).digest();
      return { seq: String(i + 1), hash: prev.toString('hex') };
    });
    expect(rows).toEqual(expected);
  });

  it('is refused UPDATE, DELETE and TRUNCATE by the database itself', async () => {
    const tenant = await chainOf(2);
    for (const statement of [
      sql`update audit.entries set action = 'x' where tenant_code = ${tenant}`,
      sql`delete from audit.entries where tenant_code = ${tenant}`,
      sql`truncate audit.entries`,
    ]) {
      const err = await queryRows(h.database.db, statement).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(sqlState(err), 'the change must be refused').toBe('42501');
    }
    expect(await verifyAuditChain(h.database.db, tenant)).toEqual({ ok: true, entries: 2 });
  });

  it('finds an edited entry', async () => {
    const tenant = await chainOf(4);
    await asSuperuser(() =>
      queryRows(
        h.database.db,
        sql`update audit.entries set subject_ref = 'other' where tenant_code = ${tenant} and seq = 3`,
      ),
    );
    expect(await verifyAuditChain(h.database.db, tenant)).toEqual({ ok: false, seq: 3, problem: 'edited' });
  });

  it('finds a deleted entry', async () => {
    const tenant = await chainOf(4);
    await asSuperuser(() =>
      queryRows(h.database.db, sql`delete from audit.entries where tenant_code = ${tenant} and seq = 2`),
    );
    expect(await verifyAuditChain(h.database.db, tenant)).toEqual({ ok: false, seq: 2, problem: 'missing' });
  });

  it('finds entries swapped in order', async () => {
    const tenant = await chainOf(4);
    await asSuperuser(async () => {
      for (const [from, to] of [
        [2, 1000],
        [3, 2],
        [1000, 3],
      ]) {
        await queryRows(
          h.database.db,
          sql`update audit.entries set seq = ${to} where tenant_code = ${tenant} and seq = ${from}`,
        );
      }
    });
    const verdict = await verifyAuditChain(h.database.db, tenant);
    expect(verdict.ok).toBe(false);
    expect(verdict).toMatchObject({ seq: 2 });
  });

  it('finds the newest entries cut off', async () => {
    const tenant = await chainOf(4);
    await asSuperuser(() =>
      queryRows(h.database.db, sql`delete from audit.entries where tenant_code = ${tenant} and seq = 4`),
    );
    expect(await verifyAuditChain(h.database.db, tenant)).toEqual({
      ok: false,
      seq: 4,
      problem: 'truncated',
    });
  });

  it('keeps one chain per tenant', async () => {
    const a = await chainOf(3);
    const b = await chainOf(2);
    expect(await verifyAuditChain(h.database.db, a)).toEqual({ ok: true, entries: 3 });
    expect(await verifyAuditChain(h.database.db, b)).toEqual({ ok: true, entries: 2 });
  });

  it('rolls back with the transaction it belongs to', async () => {
    const t = await h.tenant();
    await h.database.db
      .transaction(async (tx) => {
        await appendAudit(
          tx,
          t.municipalityCode,
          [{ actor, action: AUDIT_ACTIONS.subjectViewed }],
          new Date(),
        );
        throw new Error('roll back');
      })
      .catch(() => {});
    expect(await verifyAuditChain(h.database.db, t.municipalityCode)).toEqual({ ok: true, entries: 0 });
  });

  it('appends in one statement (hashes computed by the database) to a chain that verifies, mixed with ordinary appends', async () => {
    const t = await h.tenant();
    const chain = t.municipalityCode;
    await ensureAuditChain(h.database.db, chain);
    await ensureAuditChain(h.database.db, chain); // idempotent
    const awkward = {
      actor: { kind: 'client' as const, id: 'cli "quoted" \\ back' },
      action: AUDIT_ACTIONS.clinicLookup,
      subjectRef: 'ＰＭＨ－全角',
      requestId: "it's",
      detail: { note: 'line\nbreak, 絵文字 😀, \u0007 bell', returned: 2, nested: { a: [1, null] } },
    };
    await h.database.db.transaction(async (tx) => {
      await tx.execute(
        appendAuditStatement(chain, [awkward, { actor, action: AUDIT_ACTIONS.portalLookup }], new Date()),
      );
    });
    await h.database.db.transaction((tx) =>
      appendAudit(tx, chain, [{ actor, action: AUDIT_ACTIONS.subjectViewed, subjectRef: 's' }], new Date()),
    );
    await h.database.db.transaction(async (tx) => {
      await tx.execute(appendAuditStatement(chain, [awkward], new Date('2026-04-01T00:00:00.123Z')));
    });
    expect(await verifyAuditChain(h.database.db, chain)).toEqual({ ok: true, entries: 4 });
    const rows = await queryRows<{ seq: number; actor_id: string; detail: string | null }>(
      h.database.db,
      sql`select seq::int as seq, actor_id, detail from audit.entries where tenant_code = ${chain} order by seq`,
    );
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    expect(rows[0]?.actor_id).toBe(awkward.actor.id);
    expect(JSON.parse(rows[3]?.detail ?? 'null')).toEqual(awkward.detail);
  });

  it('refuses a one-statement append to a chain without a head instead of dropping the entries', async () => {
    const t = await h.tenant();
    const err = await h.database.db
      .transaction(async (tx) => {
        await tx.execute(
          appendAuditStatement(
            t.municipalityCode,
            [{ actor, action: AUDIT_ACTIONS.subjectViewed }],
            new Date(),
          ),
        );
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeDefined();
    expect(await verifyAuditChain(h.database.db, t.municipalityCode)).toEqual({ ok: true, entries: 0 });
  });
});
