import { describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../../src/audit/index.js';
import { openJson } from '../../../src/crypto/index.js';
import { queryRows, sql } from '../../../src/db/client.js';
import {
  type NumberingAnswerItem,
  type NumberingPort,
  type NumberingRequestItem,
  NumberingUnavailableError,
} from '../../../src/intermediate/insurer/index.js';
import { InProcessNumbering } from '../../../src/pmh/index.js';
import { faceContext, READ_MODEL_SCOPE, refreshReadModel } from '../../../src/pmh/lookups/read-model.js';
import { csvFile, csvRow } from '../../fixtures/csv.js';
import { record, type UpsertInput } from '../../fixtures/records.js';
import { createHarness, drainIntake, drainNumbering } from '../../support/harness.js';

/** Stands in for an unreliable network to the remote insurer server: fails while `down`. */
class Flaky implements NumberingPort {
  down = 0;
  loseAnswers = 0;
  calls = 0;
  inner: NumberingPort | undefined;
  /** Runs once the answer is known, before it is handed back (something happening meanwhile). */
  beforeAnswer: (() => Promise<void>) | undefined;
  async requestPmhIds(batch: {
    idempotencyKey: string;
    items: readonly NumberingRequestItem[];
  }): Promise<NumberingAnswerItem[]> {
    this.calls += 1;
    if (this.down > 0) {
      this.down -= 1;
      throw new NumberingUnavailableError('server down');
    }
    const answer = await (this.inner as NumberingPort).requestPmhIds(batch);
    const meanwhile = this.beforeAnswer;
    this.beforeAnswer = undefined;
    await meanwhile?.();
    if (this.loseAnswers > 0) {
      this.loseAnswers -= 1;
      throw new NumberingUnavailableError('answer lost on the way back');
    }
    return answer;
  }
}

const flaky = new Flaky();
const h = await createHarness({ numberingPort: flaky, numberingMaxAttempts: 3 });
flaky.inner = new InProcessNumbering(h.system.insurer);

let binding = 0;
async function insure(r: UpsertInput, change: Partial<UpsertInput['basicFiveInfo']> = {}) {
  binding += 1;
  await h.system.insurer.load([
    {
      myNumber: r.myNumber,
      basicFiveInfo: { ...r.basicFiveInfo, ...change },
      bindingNumber: `T${String(binding).padStart(11, '0')}`,
      insurerNumber: '06130001',
    },
  ]);
}

async function register(token: string, records: unknown[]) {
  const res = await h.request('/api/v1/subjects', {
    method: 'POST',
    token,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(records),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as { results: { subjectId: string }[] }).results.map((r) => r.subjectId);
}

/** Opens a read-model row's sealed face (base64, as the tests select it). */
async function openFace<T>(row: { entitlement_id: string; sealed: string } | undefined): Promise<T> {
  const { dataKey } = await h.system.keyRing.forScope(READ_MODEL_SCOPE);
  return openJson<T>(
    dataKey,
    Buffer.from(row?.sealed ?? '', 'base64'),
    faceContext(row?.entitlement_id ?? ''),
  );
}

/** Per entitlement of the subject: whether a read-model face is stored with it. */
async function storedFaces(subjectId: string | undefined): Promise<boolean[]> {
  const rows = await queryRows<{ has_face: boolean }>(
    h.database.db,
    sql`select face is not null as has_face from hub.entitlements where subject_id = ${subjectId}`,
  );
  return rows.map((row) => row.has_face);
}

interface SubjectBody {
  pmhId: string | null;
  viewingSuspended: boolean;
  numbering: { status: string; reasons?: { field: string; verdict: string }[] };
}
async function subject(token: string, id: string | undefined): Promise<SubjectBody> {
  return (await (await h.request(`/api/v1/subjects/${id}`, { token })).json()) as SubjectBody;
}

/**
 * In a fresh tenant, registers a subject with a wrong birth date (the insurer answers "cross-check
 * failed" for it) and has the corrected record registered while that answer is on its way, then
 * `meanwhile` run. The next `processNext` sends the wrong version.
 */
async function correctedWhileAnswerOnItsWay(
  meanwhile: (token: string, subjectId: string) => Promise<void> = async () => {},
): Promise<{ t: Awaited<ReturnType<typeof h.tenant>>; id: string }> {
  const t = await h.tenant();
  const r = record();
  await insure(r);
  const [id] = await register(t.token, [
    { ...r, basicFiveInfo: { ...r.basicFiveInfo, dateOfBirth: '1970-01-01' } },
  ]);
  flaky.beforeAnswer = async () => {
    await register(t.token, [r]);
    await meanwhile(t.token, id as string);
  };
  return { t, id: id as string };
}

/** The numbering outcomes audited for a subject, in order. */
async function numberingOutcomes(tenantCode: string, id: string): Promise<string[]> {
  const entries = await queryRows<{ action: string }>(
    h.database.db,
    sql`select action from audit.entries where tenant_code = ${tenantCode}
         and subject_ref = ${id} and action in ('subject.numbered', 'subject.cross-check-failed') order by seq`,
  );
  return entries.map((e) => e.action);
}

describe('PMH-ID numbering', () => {
  it('numbers a registered subject whose basic information matches the insurer record', async () => {
    const t = await h.tenant();
    const r = record();
    await insure(r);
    const [id] = await register(t.token, [r]);
    expect((await subject(t.token, id)).numbering.status).toBe('pending');
    await drainNumbering(h.system);
    const s = await subject(t.token, id);
    expect(s.numbering.status).toBe('numbered');
    expect(s.pmhId).toMatch(/^[0-9A-Z]{16}$/);
    expect(s.viewingSuspended).toBe(false);
    expect(await verifyAuditChain(h.database.db, t.municipalityCode)).toMatchObject({ ok: true });
  });

  it('gives the same person the same PMH-ID when registered again, in another tenant too', async () => {
    const tokyo = await h.tenant();
    const kanagawa = await h.tenant();
    const r = record();
    await insure(r);
    const [a] = await register(tokyo.token, [r]);
    await drainNumbering(h.system);
    const [b] = await register(kanagawa.token, [
      { ...r, basicFiveInfo: { ...r.basicFiveInfo, nameKana: 'ﾄｳｷｮｳ ﾊﾅｺ' } },
    ]);
    await drainNumbering(h.system);
    const first = await subject(tokyo.token, a);
    const second = await subject(kanagawa.token, b);
    expect(second.pmhId).toBe(first.pmhId);
  });

  it('suspends viewing when the cross-check fails, with per-field reasons, and lifts it once the record is corrected', async () => {
    const t = await h.tenant();
    const r = record();
    await insure(r, { dateOfBirth: '1980-04-02' });
    const [id] = await register(t.token, [r]);
    await drainNumbering(h.system);
    const failed = await subject(t.token, id);
    expect(failed.numbering).toEqual({
      status: 'cross-check-failed',
      reasons: [{ field: 'dateOfBirth', verdict: 'mismatch' }],
    });
    expect(failed.pmhId).toBeNull();
    expect(failed.viewingSuspended, '閲覧停止 follows a failed cross-check').toBe(true);

    await register(t.token, [{ ...r, basicFiveInfo: { ...r.basicFiveInfo, dateOfBirth: '1980-04-02' } }]);
    await drainNumbering(h.system);
    const fixed = await subject(t.token, id);
    expect(fixed.numbering.status).toBe('numbered');
    expect(fixed.viewingSuspended).toBe(false);
  });

  it('does not record an answer for a subject registered again while it was on its way; the next batch numbers it', async () => {
    // The insurer answers "cross-check failed" for the old birth date; the corrected record
    // arrives before that answer does.
    const { t, id } = await correctedWhileAnswerOnItsWay();
    expect(await h.system.numbering.processNext()).toBe(true);
    const between = await subject(t.token, id);
    expect(between.numbering.status, 'the stale answer is not recorded').toBe('pending');
    expect(between.viewingSuspended).toBe(false);

    await drainNumbering(h.system);
    const s = await subject(t.token, id);
    expect(s.numbering.status).toBe('numbered');
    expect(s.viewingSuspended).toBe(false);
    expect(await numberingOutcomes(t.municipalityCode, id), 'one numbering outcome audited').toEqual([
      'subject.numbered',
    ]);
    expect(await verifyAuditChain(h.database.db, t.municipalityCode)).toMatchObject({ ok: true });
  });

  it('keeps the answer of a later batch when an earlier batch for the same subject is answered after it', async () => {
    // While the first answer ("cross-check failed", for the old birth date) is on its way, the
    // corrected record arrives and a second batch numbers it.
    const { t, id } = await correctedWhileAnswerOnItsWay(async (token, subjectId) => {
      expect(await h.system.numbering.processNext()).toBe(true);
      expect((await subject(token, subjectId)).numbering.status).toBe('numbered');
    });
    expect(await h.system.numbering.processNext()).toBe(true);
    const s = await subject(t.token, id);
    expect(s.numbering.status, 'the earlier, stale answer is not recorded').toBe('numbered');
    expect(s.viewingSuspended).toBe(false);
    expect(await drainNumbering(h.system)).toBeUndefined();
    expect(await numberingOutcomes(t.municipalityCode, id)).toEqual(['subject.numbered']);
    const left = await queryRows<{ n: number }>(
      h.database.db,
      sql`select (select count(*) from hub.numbering_queue where tenant_code = ${t.municipalityCode})
               + (select count(*) from hub.numbering_batches where tenant_code = ${t.municipalityCode}) as n`,
    );
    expect(Number(left[0]?.n), 'no batch or queue row is left behind').toBe(0);
  });

  it('publishes in the read model an entitlement changed while the answer was on its way, as changed', async () => {
    const t = await h.tenant();
    const r = record();
    await insure(r);
    const [id] = await register(t.token, [r]);
    const view = (await (await h.request(`/api/v1/subjects/${id}`, { token: t.token })).json()) as {
      entitlements: { entitlementId: string }[];
    };
    const entitlementId = view.entitlements[0]?.entitlementId;
    flaky.beforeAnswer = async () => {
      const res = await h.request(`/api/v1/subjects/${id}/entitlements/${entitlementId}/expire`, {
        method: 'POST',
        token: t.token,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ forcedExpiryDate: '2025-09-30' }),
      });
      expect(res.status).toBe(200);
    };
    await drainNumbering(h.system);
    expect((await subject(t.token, id)).numbering.status).toBe('numbered');
    const rows = await queryRows<{
      entitlement_id: string;
      sealed: string;
      forced_expiry_date: string | null;
    }>(
      h.database.db,
      sql`select entitlement_id, encode(sealed, 'base64') as sealed, forced_expiry_date::text as forced_expiry_date
            from hub.entitlement_index where subject_id = ${id}`,
    );
    expect(rows.map((row) => row.entitlement_id)).toEqual([entitlementId]);
    expect(rows[0]?.forced_expiry_date).toBe('2025-09-30');
    const face = await openFace<{ forcedExpiryDate?: string }>(rows[0]);
    expect(face.forcedExpiryDate, 'the face shows the entitlement as it is now').toBe('2025-09-30');
  });

  it('publishes the face stored at registration, the same face a refresh seals; an update without a face drops it', async () => {
    const t = await h.tenant();
    const r = record();
    await insure(r);
    const [id] = await register(t.token, [r]);
    expect(await storedFaces(id), 'registration stores the face').toEqual([true]);
    await drainNumbering(h.system);
    expect((await subject(t.token, id)).numbering.status).toBe('numbered');
    const published = async () => {
      const [row] = await queryRows<{ entitlement_id: string; sealed: string }>(
        h.database.db,
        sql`select entitlement_id, encode(sealed, 'base64') as sealed from hub.entitlement_index
             where subject_id = ${id}`,
      );
      return openFace<Record<string, unknown>>(row);
    };
    const copied = await published();
    await refreshReadModel(h.database.db, h.system.keyRing, t.municipalityCode, [id ?? '']);
    expect(copied, 'as refreshReadModel seals it').toEqual(await published());
    await h.database.db.execute(
      sql`update hub.entitlements set forced_expiry_date = '2025-09-30' where subject_id = ${id}`,
    );
    expect(await storedFaces(id), 'a face never outlives its row version').toEqual([false]);
  });

  it('reports a person the insurer does not hold as not-found', async () => {
    const t = await h.tenant();
    const [id] = await register(t.token, [record()]);
    await drainNumbering(h.system);
    expect((await subject(t.token, id)).numbering.status).toBe('not-found');
  });

  it('retries a batch while the server is down and numbers it once it is back', async () => {
    const t = await h.tenant();
    const r = record();
    await insure(r);
    const [id] = await register(t.token, [r]);
    flaky.down = 1;
    await drainNumbering(h.system);
    const s = await subject(t.token, id);
    expect(s.numbering.status).toBe('numbered');
    expect(flaky.down).toBe(0);
  });

  it('never assigns twice when an answer is lost and the batch is retried', async () => {
    const t = await h.tenant();
    const people = [record(), record(), record()];
    for (const p of people) await insure(p);
    const ids = await register(t.token, people);
    flaky.loseAnswers = 1;
    await drainNumbering(h.system);
    const numbered = await Promise.all(ids.map((id) => subject(t.token, id)));
    expect(numbered.map((s) => s.numbering.status)).toEqual(['numbered', 'numbered', 'numbered']);
    const pmhIds = numbered.map((s) => s.pmhId as string);
    const links = await queryRows<{ n: number }>(
      h.database.db,
      sql`select count(*)::int as n from insurer.eligibility_links where pmh_id in (${sql.join(
        pmhIds.map((p) => sql`${p}`),
        sql`, `,
      )})`,
    );
    expect(links[0]?.n, 'one PMH-ID ↔ binding link per person').toBe(3);
  });

  it('numbers the rest of a retried batch whose answer was lost when one of its subjects was deleted meanwhile', async () => {
    const t = await h.tenant();
    const [gone, kept] = [record(), record()];
    await insure(gone);
    await insure(kept);
    const [goneId, keptId] = await register(t.token, [gone, kept]);
    // The insurer numbers both and stores its answer, which is lost on the way back.
    flaky.loseAnswers = 1;
    expect(await h.system.numbering.processNext()).toBe(true);
    expect((await subject(t.token, keptId as string)).numbering.status).toBe('retrying');
    const deleted = await h.request(`/api/v1/subjects/${goneId}`, { method: 'DELETE', token: t.token });
    expect(deleted.status).toBe(204);
    await drainNumbering(h.system);
    const s = await subject(t.token, keptId as string);
    expect(s.numbering.status, 'not given up on an answer for two sent for one').toBe('numbered');
    expect(s.pmhId).toBeTruthy();
  });

  it('gives up after the last attempt and says so', async () => {
    const t = await h.tenant();
    const r = record();
    await insure(r);
    const [id] = await register(t.token, [r]);
    flaky.down = 3;
    await drainNumbering(h.system);
    expect((await subject(t.token, id)).numbering.status).toBe('given-up');
    flaky.down = 0;
  });

  it('shows each row of a linkage file with its subject’s numbering state', async () => {
    const t = await h.tenant();
    const ok = record();
    const mismatch = record();
    await insure(ok);
    await insure(mismatch, { sex: '1' });
    const up = await h.request('/api/v1/linkage-files', {
      method: 'POST',
      token: t.token,
      headers: { 'content-type': 'text/csv' },
      body: csvFile([csvRow(ok), csvRow(mismatch), csvRow(record())]),
    });
    const { linkageFileId } = (await up.json()) as { linkageFileId: string };
    await drainIntake(h.system);
    await drainNumbering(h.system);
    const view = (await (
      await h.request(`/api/v1/linkage-files/${linkageFileId}`, { token: t.token })
    ).json()) as {
      rows: { numbering?: { status: string; reasons?: unknown[] } }[];
    };
    expect(view.rows.map((r) => r.numbering?.status)).toEqual([
      'numbered',
      'cross-check-failed',
      'not-found',
    ]);
    expect(view.rows[1]?.numbering?.reasons).toEqual([{ field: 'sex', verdict: 'mismatch' }]);
  });
});
