import { randomBytes, randomUUID } from 'node:crypto';
import { PgDialect } from 'drizzle-orm/pg-core';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { AUDIT_ACTIONS, type AuditEntryInput, verifyAuditChain } from '../../../src/audit/index.js';
import { queryRows, sql } from '../../../src/db/client.js';
import { runMigrations } from '../../../src/db/migrate.js';
import {
  batchQuery,
  batchStatement,
  FOUND,
  FOUND_PMH_ID,
  type Found,
  LOOKUP_AUDIT_CHAIN,
  LookupCommitter,
  type LookupEntry,
} from '../../../src/pmh/lookups/lookup-committer.js';
import { openTestDatabase } from '../../support/harness.js';

const database = await openTestDatabase();
await runMigrations(database);
const { db } = database;
afterAll(() => database.close());
// On PostgreSQL the committer pipelines each batch on a reserved postgres.js connection.
const committer = new LookupCommitter({
  db,
  clock: () => new Date(),
  ...(database.sql ? { sql: database.sql } : {}),
});
const actor = { kind: 'client' as const, id: 'committer-test' };
let people = 0;

/** A numbered person with read-model rows (valid_from, valid_to, flags); returns the PMH-ID. */
async function personWith(
  rows: { from: string; to?: string; forced?: string; notDisclosed?: boolean; tenant?: string }[],
): Promise<string> {
  people += 1;
  const pmhId = `T${String(people).padStart(7, '0')}${randomBytes(4).toString('hex').toUpperCase()}`;
  const subjectId = randomUUID();
  await db.execute(sql`
    insert into hub.subjects (id, tenant_code, business_id, my_number_index, sealed, digest, pmh_id,
      is_not_disclosed, viewing_suspended, created_at, updated_at, suspended_by_cross_check, numbering_status)
    values (${subjectId}, '130001', 'b', decode(${randomBytes(32).toString('hex')}, 'hex'), decode('00', 'hex'),
      decode('00', 'hex'), ${pmhId}, false, false, now(), now(), false, 'numbered')`);
  for (const r of rows) {
    await db.execute(sql`
      insert into hub.entitlement_index (entitlement_id, pmh_id, tenant_code, subject_id, sealed,
        is_not_disclosed, viewing_suspended, valid_from, valid_to, forced_expiry_date, updated_at)
      values (${randomUUID()}, ${pmhId}, ${r.tenant ?? '130001'}, ${subjectId}, decode('01', 'hex'),
        ${r.notDisclosed ?? false}, false, ${r.from}, ${r.to ?? null}, ${r.forced ?? null}, now())`);
  }
  return pmhId;
}

/** A lookup's entry (the person and the number of rows found, filled in by the statement) and answer. */
function lookup(requestId: string, extra: Partial<LookupEntry> = {}) {
  const entry: LookupEntry = {
    actor,
    action: AUDIT_ACTIONS.clinicLookup,
    requestId,
    subjectRef: FOUND_PMH_ID,
    detail: { returned: FOUND.returned, known: FOUND.known },
    ...extra,
  };
  return { entry, answer: (found: Found) => found };
}

const jti = () => ({ jti: randomBytes(16).toString('base64url'), expiresAt: new Date(Date.now() + 600_000) });

async function actions(requestIds: string[]): Promise<Record<string, string[]>> {
  const rows = await queryRows<{ request_id: string; action: string }>(
    db,
    sql`select request_id, action from audit.entries
        where tenant_code = ${LOOKUP_AUDIT_CHAIN}
          and request_id in (${sql.join(
            requestIds.map((r) => sql`${r}`),
            sql`, `,
          )})
        order by seq`,
  );
  const out: Record<string, string[]> = {};
  for (const r of rows) out[r.request_id] = [...(out[r.request_id] ?? []), r.action];
  return out;
}

describe('the lookup group commit', () => {
  it('reads each lookup’s entitlements valid on its own date, by PMH-ID or by pseudonym, in a stable order', async () => {
    const a = await personWith([
      { from: '2025-04-01', to: '2026-03-31', tenant: '130002' },
      { from: '2025-01-01', to: '2025-12-31', tenant: '130001' },
      { from: '2025-01-01', to: '2025-12-31', notDisclosed: true },
      { from: '2025-01-01', forced: '2025-05-31' },
    ]);
    const pseudonym = randomBytes(24).toString('base64url');
    await db.execute(sql`insert into hub.pseudonyms (pseudonym, pmh_id, card_serial_digest, created_at)
      values (${pseudonym}, ${a}, decode('00', 'hex'), now())`);
    const [june, december, portal, unknown] = await Promise.all([
      committer.commit({ who: { pmhId: a }, dateOfCare: '2025-06-01', ...lookup('r-june') }),
      committer.commit({ who: { pmhId: a }, dateOfCare: '2025-12-15', ...lookup('r-dec') }),
      committer.commit({ who: { pseudonym }, dateOfCare: '2025-05-01', ...lookup('r-portal') }),
      committer.commit({
        who: { pseudonym: randomBytes(24).toString('base64url') },
        dateOfCare: '2025-05-01',
        ...lookup('r-unknown'),
      }),
    ]);
    const tenants = async (o: typeof june) => {
      if (!o.ok) throw new Error('expected an answer');
      const ids = o.value.rows.map((r) => r.entitlementId);
      if (ids.length === 0) return [];
      const rows = await queryRows<{ entitlement_id: string; tenant_code: string }>(
        db,
        sql`select entitlement_id, tenant_code from hub.entitlement_index
            where entitlement_id in (${sql.join(
              ids.map((id) => sql`${id}::uuid`),
              sql`, `,
            )})`,
      );
      const byId = new Map(rows.map((r) => [r.entitlement_id, r.tenant_code]));
      return ids.map((id) => byId.get(id));
    };
    expect(await tenants(june), '不開示 and the forcibly expired one left out, ordered by tenant').toEqual([
      '130001',
      '130002',
    ]);
    expect(await tenants(december)).toEqual(['130001', '130002']);
    expect(await tenants(portal), 'a pseudonym resolves to its person; forced expiry still ahead').toEqual([
      '130001',
      '130001',
      '130002',
    ]);
    expect(portal.ok && portal.value.pmhId).toBe(a);
    expect(unknown).toEqual({ ok: true, value: { pmhId: null, rows: [] } });
    const entries = await queryRows<{ request_id: string; subject_ref: string | null; detail: string }>(
      db,
      sql`select request_id, subject_ref, detail from audit.entries
          where tenant_code = ${LOOKUP_AUDIT_CHAIN} and request_id in ('r-june', 'r-portal', 'r-unknown')`,
    );
    const byRequest = Object.fromEntries(entries.map((e) => [e.request_id, e]));
    expect(byRequest['r-june'], 'the statement fills in what it found').toEqual({
      request_id: 'r-june',
      subject_ref: a,
      detail: '{"returned":2,"known":true}',
    });
    expect(byRequest['r-portal']?.subject_ref, 'a pseudonym’s person').toBe(a);
    expect(byRequest['r-portal']?.detail).toBe('{"returned":3,"known":true}');
    expect(byRequest['r-unknown']).toMatchObject({
      subject_ref: null,
      detail: '{"returned":0,"known":false}',
    });
    expect(await verifyAuditChain(db, LOOKUP_AUDIT_CHAIN)).toMatchObject({ ok: true });
  });

  it('answers a batch only once its audit entries are committed, and keeps the chain whole', async () => {
    const ids = Array.from({ length: 40 }, (_, k) => `r-batch-${k}-${randomUUID()}`);
    const outcomes = await Promise.all(
      ids.map((requestId) =>
        committer
          .commit({
            who: { pmhId: 'NOBODY' },
            dateOfCare: '2025-06-01',
            jti: jti(),
            ...lookup(requestId),
          })
          .then(async (o) => ({ o, audited: (await actions([requestId]))[requestId] })),
      ),
    );
    for (const { o, audited } of outcomes) {
      expect(o.ok).toBe(true);
      expect(audited, 'the entry is in the database when the answer arrives').toEqual([
        AUDIT_ACTIONS.clinicLookup,
      ]);
    }
    expect(await verifyAuditChain(db, LOOKUP_AUDIT_CHAIN)).toMatchObject({ ok: true });
  });

  it('answers a nonce once: a second use in the same batch or a later one is a replay, audited as such', async () => {
    const key = jti();
    const replayed = (requestId: string): AuditEntryInput => ({
      actor,
      action: AUDIT_ACTIONS.linkageKeyReplayed,
      requestId,
    });
    const [first, sameBatch] = await Promise.all([
      committer.commit({
        who: { pmhId: 'NOBODY' },
        dateOfCare: '2025-06-01',
        jti: key,
        ...lookup('n-1'),
      }),
      committer.commit({
        who: { pmhId: 'NOBODY' },
        dateOfCare: '2025-06-01',
        jti: key,
        ...lookup('n-2'),
        replayed: replayed('n-2'),
      }),
    ]);
    const later = await committer.commit({
      who: { pmhId: 'NOBODY' },
      dateOfCare: '2025-06-01',
      jti: key,
      ...lookup('n-3'),
      replayed: replayed('n-3'),
    });
    expect([first.ok, sameBatch.ok, later.ok]).toEqual([true, false, false]);
    expect(await actions(['n-1', 'n-2', 'n-3'])).toEqual({
      'n-1': [AUDIT_ACTIONS.clinicLookup],
      'n-2': [AUDIT_ACTIONS.linkageKeyReplayed],
      'n-3': [AUDIT_ACTIONS.linkageKeyReplayed],
    });
  });

  it('answers each nonce exactly once while batches overlap', async () => {
    const keys = Array.from({ length: 60 }, jti);
    const pending: Promise<boolean>[] = [];
    for (let round = 0; round < 3; round++) {
      for (const [k, key] of keys.entries()) {
        pending.push(
          committer
            .commit({
              who: { pmhId: 'NOBODY' },
              dateOfCare: '2025-06-01',
              jti: key,
              ...lookup(`o-${round}-${k}`),
            })
            .then((o) => o.ok),
        );
        if (k % 7 === 0) await new Promise((r) => setImmediate(r));
      }
    }
    const answered = (await Promise.all(pending)).filter(Boolean).length;
    expect(answered, 'one answer per nonce, whatever the batches').toBe(keys.length);
    expect(await verifyAuditChain(db, LOOKUP_AUDIT_CHAIN)).toMatchObject({ ok: true });
  });

  it('fails a lookup whose answer cannot be built alone (its entry stays: what was read); the rest of its batch is answered', async () => {
    const [bad, good] = await Promise.allSettled([
      committer.commit({
        who: { pmhId: 'NOBODY' },
        dateOfCare: '2025-06-01',
        ...lookup('f-bad'),
        answer: () => {
          throw new Error('a sealed row failed to open');
        },
      }),
      committer.commit({ who: { pmhId: 'NOBODY' }, dateOfCare: '2025-06-01', ...lookup('f-good') }),
    ]);
    expect(bad.status).toBe('rejected');
    expect(good).toMatchObject({ status: 'fulfilled', value: { ok: true } });
    expect(await actions(['f-bad', 'f-good'])).toEqual({
      'f-bad': [AUDIT_ACTIONS.clinicLookup],
      'f-good': [AUDIT_ACTIONS.clinicLookup],
    });
  });

  it('answers nothing when the batch’s audit append fails, and the linkage key stays unused', async () => {
    const pmhId = await personWith([{ from: '2025-01-01' }]);
    const key = jti();
    // A NUL in a text field cannot be stored: the append fails, so the whole batch rolls back.
    const bad = committer.commit({
      who: { pmhId },
      dateOfCare: '2025-06-01',
      jti: key,
      ...lookup('a-bad', { actor: { kind: 'client', id: 'nul\u0000' } }),
    });
    await expect(bad).rejects.toThrow();
    const again = await committer.commit({
      who: { pmhId },
      dateOfCare: '2025-06-01',
      jti: key,
      ...lookup('a-again'),
    });
    expect(again).toMatchObject({ ok: true, value: { pmhId } });
    expect(await actions(['a-bad', 'a-again'])).toEqual({ 'a-again': [AUDIT_ACTIONS.clinicLookup] });
    expect(await verifyAuditChain(db, LOOKUP_AUDIT_CHAIN)).toMatchObject({ ok: true });
  });
});

describe('the batch statement sent to PostgreSQL', () => {
  it('is the statement drizzle builds, with the batch’s own values, whatever they are', () => {
    const dialect = new PgDialect();
    fc.assert(
      fc.property(fc.string(), fc.date({ noInvalidDate: true }), (askedJson, at) => {
        const built = dialect.sqlToQuery(batchStatement(askedJson, at));
        expect(batchQuery(askedJson, at)).toEqual({ sql: built.sql, params: built.params });
      }),
    );
  });
});
