import { describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/audit/index.js';
import { SCOPES } from '../../src/identity/index.js';
import { registrationRecordSchema } from '../../src/pmh/index.js';
import { csvFile, csvRow } from '../fixtures/csv.js';
import { myNumber, record } from '../fixtures/records.js';
import { createHarness } from '../support/harness.js';

const h = await createHarness();

async function register(token: string, records: unknown[]) {
  return h.request('/api/v1/subjects', {
    method: 'POST',
    token,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(records),
  });
}

async function results(res: Response) {
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as { results: { index: number; subjectId: string; outcome: string }[] }).results;
}

describe('registerSubjects', () => {
  it('creates, then reports unchanged, updated and deleted for the same entitlement', async () => {
    const t = await h.tenant();
    const r = record();
    const [first] = await results(await register(t.token, [r]));
    expect(first).toMatchObject({ index: 0, outcome: 'created' });
    const [again] = await results(await register(t.token, [r]));
    expect(again).toEqual({ index: 0, subjectId: first?.subjectId, outcome: 'unchanged' });
    const [changed] = await results(await register(t.token, [{ ...r, incomeSegment: '中間所得1' }]));
    expect(changed?.outcome).toBe('updated');
    const [renamed] = await results(
      await register(t.token, [
        {
          ...r,
          incomeSegment: '中間所得1',
          basicFiveInfo: { ...r.basicFiveInfo, address: '東京都千代田区1-1' },
        },
      ]),
    );
    expect(renamed?.outcome, 'a change of the subject alone is an update').toBe('updated');
    const [deleted] = await results(
      await register(t.token, [
        { modificationSeg: '2', myNumber: r.myNumber, orgSpecificCertificateTypeId: 'JIRITSUSEISHIN' },
      ]),
    );
    expect(deleted).toMatchObject({ outcome: 'deleted', subjectId: first?.subjectId });
    const gone = await h.request(`/api/v1/subjects/${first?.subjectId}`, { token: t.token });
    expect(gone.status, 'a subject with no entitlement left is deleted with it').toBe(404);
  });

  it('answers not-found when deleting an entitlement that does not exist', async () => {
    const t = await h.tenant();
    const [res] = await results(
      await register(t.token, [
        { modificationSeg: '2', myNumber: myNumber(), orgSpecificCertificateTypeId: 'X1' },
      ]),
    );
    expect(res).toEqual({ index: 0, subjectId: null, outcome: 'not-found' });
  });

  it('keeps a subject while another certificate remains', async () => {
    const t = await h.tenant();
    const r = record();
    const [a, b] = await results(
      await register(t.token, [
        r,
        { ...r, orgSpecificCertificateTypeId: 'KOUSEI', certificationName: '更生医療' },
      ]),
    );
    expect(a?.subjectId).toBe(b?.subjectId);
    await results(
      await register(t.token, [
        { modificationSeg: '2', myNumber: r.myNumber, orgSpecificCertificateTypeId: 'KOUSEI' },
      ]),
    );
    const res = await h.request(`/api/v1/subjects/${a?.subjectId}`, { token: t.token });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { entitlements: unknown[] };
    expect(body.entitlements).toHaveLength(1);
  });

  it('stores nothing and lists every bad record by index and field when one record is invalid', async () => {
    const t = await h.tenant();
    const good = record();
    const bad1 = record({ myNumber: '123456789012' });
    const bad2 = record({ validFrom: 'H31.5.1', medicalSubsidyInsurerNumber: '21130012' });
    const res = await register(t.token, [good, bad1, bad2]);
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const body = (await res.json()) as {
      type: string;
      title: string;
      errors: { index: number; pointer: string; code: string }[];
    };
    expect(body.type).toBe('/problems/validation-failed');
    expect(body.title).toBe('入力内容に誤りがあります');
    expect(body.errors).toEqual(
      expect.arrayContaining([
        { index: 1, pointer: '/1/myNumber', code: 'my-number-check-digit' },
        { index: 2, pointer: '/2/validFrom', code: 'outside-era' },
        { index: 2, pointer: '/2/medicalSubsidyInsurerNumber', code: 'insurer-number-check-digit' },
      ]),
    );
    expect(JSON.stringify(body)).not.toContain(bad1.myNumber);
    const [after] = await results(await register(t.token, [good]));
    expect(after?.outcome, 'the good record of the refused batch was not stored').toBe('created');
  });

  it('accepts 和暦 dates and normalises kana before storing', async () => {
    const t = await h.tenant();
    const r = record({
      validFrom: '令和7年4月1日',
      validTo: 'R8.3.31',
      basicFiveInfo: {
        name: '東京　花子',
        nameKana: 'ﾄｳｷｮｳ　　はなこ',
        address: '東京都港区1-1',
        dateOfBirth: '5020101',
        sex: '2',
      },
    });
    const [res] = await results(await register(t.token, [r]));
    const view = (await (
      await h.request(`/api/v1/subjects/${res?.subjectId}`, { token: t.token })
    ).json()) as {
      basicFiveInfo: { nameKana: string; dateOfBirth: string; name: string };
      entitlements: { validFrom: string; validTo: string }[];
    };
    expect(view.basicFiveInfo.nameKana).toBe('トウキョウ ハナコ');
    expect(view.basicFiveInfo.name).toBe('東京 花子');
    expect(view.basicFiveInfo.dateOfBirth).toBe('2020-01-01');
    expect(view.entitlements[0]).toMatchObject({ validFrom: '2025-04-01', validTo: '2026-03-31' });
  });

  it('refuses validFrom after validTo, bad sex codes and unknown fields with their own codes', async () => {
    const t = await h.tenant();
    const res = await register(t.token, [
      record({ validFrom: '2026-04-01', validTo: '2025-04-01' }),
      record({ basicFiveInfo: { ...record().basicFiveInfo, sex: '5' } }),
      record({ favouriteColour: 'blue' }),
    ]);
    const body = (await res.json()) as { errors: { index: number; pointer: string; code: string }[] };
    expect(body.errors).toEqual(
      expect.arrayContaining([
        { index: 0, pointer: '/0/validTo', code: 'valid-from-after-valid-to' },
        { index: 1, pointer: '/1/basicFiveInfo/sex', code: 'not-allowed-value' },
        { index: 2, pointer: '/2/favouriteColour', code: 'unknown-field' },
      ]),
    );
  });

  it('answers malformed JSON with a 400 problem, not a 500', async () => {
    const t = await h.tenant();
    const res = await h.request('/api/v1/subjects', {
      method: 'POST',
      token: t.token,
      headers: { 'content-type': 'application/json' },
      body: '[{"modificationSeg":',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe('malformed-request');
  });

  it('refuses a client without the register scope', async () => {
    const t = await h.tenant();
    const res = await register(t.readOnly, [record()]);
    expect(res.status).toBe(403);
  });
});

describe('getSubject', () => {
  it('masks the 個人番号 unless the client has my-number:view, and audits each read', async () => {
    const t = await h.tenant();
    const r = record();
    const [res] = await results(await register(t.token, [r]));
    const masked = (await (
      await h.request(`/api/v1/subjects/${res?.subjectId}`, { token: t.noMyNumber })
    ).json()) as {
      myNumber: string;
    };
    expect(masked.myNumber).toBe('************');
    const clear = (await (
      await h.request(`/api/v1/subjects/${res?.subjectId}`, { token: t.token })
    ).json()) as {
      myNumber: string;
    };
    expect(clear.myNumber).toBe(r.myNumber);
    const verdict = await verifyAuditChain(h.database.db, t.municipalityCode);
    expect(verdict, 'one entry for the registration and one per read').toEqual({ ok: true, entries: 3 });
  });

  it('stores and returns an entitlement at the schema’s limits, far larger than a database page', async () => {
    // 200 certificate lines of up to 1,000 characters: the row's envelope and face run to
    // hundreds of kilobytes, which the database must move out of line (migration 0016 keeps
    // only rows up to 8,160 bytes whole on their page).
    const t = await h.tenant();
    const certificationDetail = Array.from({ length: 200 }, (_, i) => ({
      displayOrder: i + 1,
      itemName: `項目${i + 1}`,
      itemValue: `${'備考'.repeat(300)}${'x'.repeat(400)}${i}`.slice(0, 1000),
    }));
    const r = record({ certificationDetail });
    const [created] = await results(await register(t.token, [r]));
    expect(created?.outcome).toBe('created');
    const read = async () =>
      (await (await h.request(`/api/v1/subjects/${created?.subjectId}`, { token: t.token })).json()) as {
        entitlements: { certificationDetail: unknown[]; validTo?: string }[];
      };
    expect((await read()).entitlements[0]?.certificationDetail).toEqual(certificationDetail);
    const [renewed] = await results(await register(t.token, [{ ...r, validTo: '2027-03-31' }]));
    expect(renewed?.outcome, 'and updates it in place').toBe('updated');
    const after = (await read()).entitlements[0];
    expect(after?.validTo).toBe('2027-03-31');
    expect(after?.certificationDetail).toEqual(certificationDetail);
  });

  it('does not show one tenant the subjects of another', async () => {
    const tokyo = await h.tenant();
    const other = await h.tenant();
    const [res] = await results(await register(tokyo.token, [record()]));
    const path = `/api/v1/subjects/${res?.subjectId}`;
    expect((await h.request(path, { token: other.token })).status).toBe(404);
    expect((await h.request(path, { method: 'DELETE', token: other.token })).status).toBe(404);
    expect((await h.request(path, { token: tokyo.token })).status, 'the owner still sees it').toBe(200);
  });
});

describe('getAccessHistory', () => {
  it('lists who registered, read and changed a subject, newest first, audits its own reading, and needs my-number:view', async () => {
    const t = await h.tenant();
    const [res] = await results(await register(t.token, [record()]));
    const path = `/api/v1/subjects/${res?.subjectId}`;
    const subject = (await (await h.request(path, { token: t.readOnly })).json()) as {
      entitlements: { entitlementId: string }[];
    };
    await h.request(`${path}/entitlements/${subject.entitlements[0]?.entitlementId}`, {
      method: 'PATCH',
      token: t.token,
      headers: { 'content-type': 'application/json', 'x-request-id': 'history-change-1' },
      body: JSON.stringify({ incomeSegment: '一般' }),
    });
    expect((await h.request(`${path}/access-history`, { token: t.noMyNumber })).status).toBe(403);

    const first = await h.request(`${path}/access-history`, { token: t.token });
    expect(first.status, await first.clone().text()).toBe(200);
    const history = (await first.json()) as {
      subjectId: string;
      truncated: boolean;
      entries: { chain: string; action: string; actorKind: string; requestId: string | null; at: string }[];
    };
    expect(history.entries.map((e) => e.action)).toEqual([
      'entitlement.updated',
      'subject.viewed',
      'entitlement.created',
    ]);
    expect(history.entries[0]).toMatchObject({
      chain: 'municipality',
      actorKind: 'client',
      requestId: 'history-change-1',
    });
    expect(history.truncated).toBe(false);
    expect(JSON.stringify(history), 'no value, only who, when and what').not.toContain('一般');

    const again = (await (
      await h.request(`${path}/access-history`, { token: t.token })
    ).json()) as typeof history;
    expect(again.entries[0]?.action, 'the first reading of the history is in it').toBe(
      'subject.access-history-viewed',
    );
  });
});

describe('two businesses of one municipality', () => {
  it('do not see, change or delete each other’s subjects, entitlements or linkage files', async () => {
    const t = await h.tenant();
    const other = await h.client(t.municipalityCode, `${t.businessId}-other`, [
      SCOPES.register,
      SCOPES.read,
      SCOPES.myNumberView,
    ]);
    const r = record();
    const [mine] = await results(await register(t.token, [r]));
    const path = `/api/v1/subjects/${mine?.subjectId}`;
    const subject = (await (await h.request(path, { token: t.token })).json()) as {
      entitlements: { entitlementId: string }[];
    };
    const entitlementPath = `${path}/entitlements/${subject.entitlements[0]?.entitlementId}`;
    const json = { 'content-type': 'application/json' };
    const attempts: [string, RequestInit][] = [
      [path, {}],
      [path, { method: 'DELETE' }],
      [entitlementPath, { method: 'PATCH', headers: json, body: JSON.stringify({ incomeSegment: '一般' }) }],
      [
        `${entitlementPath}/expire`,
        { method: 'POST', headers: json, body: JSON.stringify({ forcedExpiryDate: '2025-12-31' }) },
      ],
      [
        `${path}/control-flags`,
        { method: 'PUT', headers: json, body: JSON.stringify({ viewingSuspended: true }) },
      ],
    ];
    for (const [p, init] of attempts) {
      const res = await h.request(p, { ...init, token: other });
      expect(res.status, `${init.method ?? 'GET'} ${p}: ${await res.text()}`).toBe(404);
    }

    const up = await h.request('/api/v1/linkage-files?fileName=a.csv', {
      method: 'POST',
      token: t.token,
      headers: { 'content-type': 'text/csv' },
      body: csvFile([csvRow(record())]),
    });
    const fileId = ((await up.json()) as { linkageFileId: string }).linkageFileId;
    expect((await h.request(`/api/v1/linkage-files/${fileId}`, { token: other })).status).toBe(404);

    // The same person registered by the other business is that business's own subject.
    const [theirs] = await results(await register(other, [r]));
    expect(theirs?.outcome).toBe('created');
    expect(theirs?.subjectId).not.toBe(mine?.subjectId);

    const after = (await (await h.request(path, { token: t.token })).json()) as {
      flags: unknown;
      entitlements: { incomeSegment?: string; forcedExpiryDate?: string | null }[];
    };
    expect(after.entitlements[0]?.incomeSegment, 'the owner’s entitlement is as it registered it').toBe(
      r.incomeSegment,
    );
    expect(after.entitlements[0]?.forcedExpiryDate ?? null).toBeNull();
  });
});

describe('changing entitlements and subjects', () => {
  it('updates, expires, flags and deletes a subject', async () => {
    const t = await h.tenant();
    const [res] = await results(await register(t.token, [record()]));
    const subject = (await (
      await h.request(`/api/v1/subjects/${res?.subjectId}`, { token: t.token })
    ).json()) as {
      entitlements: { entitlementId: string }[];
    };
    const entitlementId = subject.entitlements[0]?.entitlementId;
    const base = `/api/v1/subjects/${res?.subjectId}`;
    const json = { 'content-type': 'application/json' };
    const patched = await h.request(`${base}/entitlements/${entitlementId}`, {
      method: 'PATCH',
      token: t.token,
      headers: json,
      body: JSON.stringify({ incomeSegment: '生活保護', maxCopaymentAmount: { amount: 0 } }),
    });
    expect(patched.status).toBe(200);
    expect(
      ((await patched.json()) as { entitlements: { incomeSegment: string }[] }).entitlements[0]
        ?.incomeSegment,
    ).toBe('生活保護');

    const badPatch = await h.request(`${base}/entitlements/${entitlementId}`, {
      method: 'PATCH',
      token: t.token,
      headers: json,
      body: JSON.stringify({ validTo: '2020-01-01' }),
    });
    expect(badPatch.status, 'the merged entitlement must still be valid').toBe(422);

    const expired = await h.request(`${base}/entitlements/${entitlementId}/expire`, {
      method: 'POST',
      token: t.token,
      headers: json,
      body: JSON.stringify({ forcedExpiryDate: 'R7.9.30' }),
    });
    expect(
      ((await expired.json()) as { entitlements: { forcedExpiryDate: string }[] }).entitlements[0]
        ?.forcedExpiryDate,
    ).toBe('2025-09-30');

    const flagged = await h.request(`${base}/control-flags`, {
      method: 'PUT',
      token: t.token,
      headers: json,
      body: JSON.stringify({ viewingSuspended: true }),
    });
    expect(((await flagged.json()) as { viewingSuspended: boolean }).viewingSuspended).toBe(true);

    expect((await h.request(base, { method: 'DELETE', token: t.token })).status).toBe(204);
    expect((await h.request(base, { token: t.token })).status).toBe(404);
    expect(await verifyAuditChain(h.database.db, t.municipalityCode)).toMatchObject({ ok: true });
  });
});

describe('a submission prepared ahead (the intake prepares one batch while the last is written)', () => {
  const caller = (t: { municipalityCode: string; businessId: string }) => ({
    tenantCode: t.municipalityCode,
    businessId: t.businessId,
    actor: { kind: 'client' as const, id: 'test' },
  });
  const subjectOf = async (token: string, subjectId: string | null | undefined) =>
    (await (await h.request(`/api/v1/subjects/${subjectId}`, { token })).json()) as { myNumber: string };

  it('stores what it was prepared for', async () => {
    const t = await h.tenant();
    const r = registrationRecordSchema.parse(record());
    const hub = h.system.hub;
    const [res] = await hub.submit(caller(t), await hub.prepare(caller(t), { records: [r] }));
    expect(res?.outcome).toBe('created');
    const stored = await subjectOf(t.token, res?.subjectId);
    expect(stored.myNumber).toBe(r.myNumber);
  });

  it('is prepared again when submitted for another tenant or with other records', async () => {
    const first = await h.tenant();
    const second = await h.tenant();
    const hub = h.system.hub;
    const r = registrationRecordSchema.parse(record());
    const forFirst = await hub.prepare(caller(first), { records: [r] });
    // Sealed for the first tenant: used by the second, its envelopes would not open there.
    const [other] = await hub.submit(caller(second), forFirst);
    expect((await subjectOf(second.token, other?.subjectId)).myNumber).toBe(r.myNumber);

    const s = registrationRecordSchema.parse(record());
    const [changed] = await hub.submit(caller(first), { ...forFirst, records: [s] });
    const stored = await subjectOf(first.token, changed?.subjectId);
    expect(stored.myNumber, 'the records submitted, not those prepared').toBe(s.myNumber);
  });
});
