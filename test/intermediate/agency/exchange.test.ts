import { describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../../src/audit/index.js';
import {
  createPrivateCa,
  issueCertificate,
  openSealed,
  type SealedForRecipient,
} from '../../../src/crypto/index.js';
import { queryRows, sql } from '../../../src/db/client.js';
import { createClient, SCOPES, type Scope } from '../../../src/identity/index.js';
import { EXCHANGE_AUDIT_CHAIN } from '../../../src/intermediate/agency/index.js';
import { myNumber } from '../../fixtures/records.js';
import { createHarness } from '../../support/harness.js';

let now = new Date('2025-09-01T09:00:00Z');
const h = await createHarness({ clock: () => now });
const ca = createPrivateCa({ commonName: 'test exchange CA' });
const TOKYO = '130001';
const CHIYODA = '131016';
const KANAGAWA = '140007';
const certs = Object.fromEntries(
  [TOKYO, CHIYODA, KANAGAWA].map((id) => [
    id,
    issueCertificate(ca, { commonName: `agency ${id}`, usage: 'agency' }),
  ]),
);
for (const id of [TOKYO, CHIYODA, KANAGAWA]) {
  await h.system.exchange.registerAgency({ agencyId: id, name: id, certPem: certs[id]?.certPem ?? '' });
}
const client = (agencyId: string, scope: Scope) =>
  createClient(h.database.db, {
    name: `${agencyId} ${scope}`,
    tenantCode: agencyId,
    businessId: 'exchange',
    scopes: [scope],
  });
const token = async (agencyId: string, scope: Scope) => (await client(agencyId, scope)).token;
const tokyoCase = await token(TOKYO, SCOPES.replicaRegister);
const tokyoStaff = await token(TOKYO, SCOPES.release);
const chiyoda = await token(CHIYODA, SCOPES.exchangeInquire);
const kanagawaClient = await client(KANAGAWA, SCOPES.exchangeInquire);
const kanagawa = kanagawaClient.token;

function post(path: string, tokenValue: string, body: unknown, headers: Record<string, string> = {}) {
  return h.request(`/exchange/v1${path}`, {
    method: 'POST',
    token: tokenValue,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

async function personWithReplicas(procedure = 'public-assistance', items: Record<string, string> = {}) {
  const mn = myNumber();
  const res = await post(
    '/replicas',
    tokyoCase,
    {
      procedure,
      records: [
        {
          myNumber: mn,
          items: {
            'jsi.certificate': '21130018/9603283 2025-04-01..2026-03-31',
            ...(procedure === 'public-assistance' ? { 'jsi.income-segment': '低所得2' } : {}),
            ...items,
          },
        },
      ],
    },
    { 'x-request-id': 'case-system-req-1' },
  );
  expect(res.status, await res.clone().text()).toBe(200);
  expect(await res.json()).toEqual({ requestId: 'case-system-req-1', stored: 1 });
  return mn;
}

async function codeFor(tokenValue: string, mn: string): Promise<string> {
  return (
    (await (await post('/provision-codes', tokenValue, { myNumber: mn })).json()) as { provisionCode: string }
  ).provisionCode;
}

interface Inquiry {
  inquiryId: string;
  requestId: string;
  status: string;
  answer?: SealedForRecipient;
  provisionPermit?: { route: { from: string; to: string } };
}

function open(agencyId: string, inquiry: Inquiry) {
  return JSON.parse(
    openSealed(
      certs[agencyId]?.keyPem ?? '',
      inquiry.answer as SealedForRecipient,
      `inquiry:${inquiry.inquiryId}`,
    ).toString(),
  ) as {
    requestId: string;
    inquiryId: string;
    items: Record<string, string | null>;
  };
}

interface AuditRow {
  at: Date | string;
  actor_kind: string;
  actor_id: string;
  action: string;
  request_id: string | null;
  detail: string | null;
}

/** The exchange chain's entries carrying a request id, in chain order. */
function auditFor(requestId: string) {
  return queryRows<AuditRow>(
    h.database.db,
    sql`select at, actor_kind, actor_id, action, request_id, detail from audit.entries
        where tenant_code = ${EXCHANGE_AUDIT_CHAIN} and request_id = ${requestId} order by seq`,
  );
}

describe('the relay', () => {
  it('passes replicas on, echoes the caller’s request id, and keeps nothing in clear', async () => {
    const mn = await personWithReplicas();
    const tables = await queryRows<{ table_name: string }>(
      h.database.db,
      sql`select table_name from information_schema.tables where table_schema = 'agency'`,
    );
    expect(tables.map((t) => t.table_name).sort()).toEqual([
      'agencies',
      'inquiries',
      'provision_codes',
      'replicas',
    ]);
    const rows = await queryRows<{ j: string }>(
      h.database.db,
      sql`select row_to_json(r)::text as j from agency.replicas r`,
    );
    expect(rows.map((r) => r.j).join('')).not.toContain('低所得2');
    expect(rows.map((r) => r.j).join('')).not.toContain(mn);
    // row_to_json shows bytea as hex, so look for the clear bytes inside the sealed column itself.
    const sealed = await queryRows<{ hex: string }>(
      h.database.db,
      sql`select encode(sealed, 'hex') as hex from agency.replicas`,
    );
    expect(sealed.length).toBeGreaterThan(0);
    for (const clear of ['低所得2', mn, '21130018/9603283']) {
      const hex = Buffer.from(clear).toString('hex');
      expect(
        sealed.some((r) => r.hex.includes(hex)),
        `the sealed replicas do not hold ${clear} in clear`,
      ).toBe(false);
    }
  });

  it('refuses items the caller does not provide under the procedure', async () => {
    const res = await post(
      '/replicas',
      tokyoCase,
      {
        procedure: 'public-assistance',
        records: [{ myNumber: myNumber(), items: { 'ins.insurer': 'x' } }],
      },
      { 'x-request-id': 'relay-refused-items' },
    );
    expect(res.status).toBe(403);
    const stored = await queryRows<{ n: number }>(
      h.database.db,
      sql`select count(*)::int as n from agency.replicas where item_code = 'ins.insurer'`,
    );
    expect(stored[0]?.n, 'a refused registration stores nothing').toBe(0);
    expect(await auditFor('relay-refused-items'), 'nothing was registered').toEqual([]);
  });

  it('stores replicas only for a caller allowed to register them through the relay', async () => {
    const res = await post(
      '/replicas',
      tokyoStaff,
      {
        procedure: 'public-assistance',
        records: [{ myNumber: myNumber(), items: { 'jsi.income-segment': '不正登録' } }],
      },
      { 'x-request-id': 'relay-wrong-scope' },
    );
    expect(res.status, 'the release scope does not register replicas').toBe(403);
    const exported = (await (
      await h.request('/exchange/v1/reconciliation/replicas', { token: tokyoStaff })
    ).json()) as { rows: { value: string }[] };
    expect(exported.rows.some((r) => r.value === '不正登録')).toBe(false);
    expect(await auditFor('relay-wrong-scope')).toEqual([]);
  });
});

describe('inquiries', () => {
  it('answers a permitted inquiry automatically, readable only by the requester', async () => {
    const mn = await personWithReplicas();
    const other = await personWithReplicas('public-assistance', {
      'jsi.certificate': '21130018/9999999 2025-04-01..2026-03-31',
      'jsi.income-segment': '一般',
    });
    const res = await post(
      '/inquiries',
      kanagawa,
      {
        providerId: TOKYO,
        procedure: 'public-assistance',
        provisionCode: await codeFor(kanagawa, mn),
        items: ['jsi.certificate', 'jsi.income-segment'],
      },
      { 'x-request-id': 'kanagawa-inquiry-1' },
    );
    expect(res.status, await res.clone().text()).toBe(201);
    expect(res.headers.get('x-request-id')).toBe('kanagawa-inquiry-1');
    const inquiry = (await res.json()) as Inquiry;
    expect(inquiry.status).toBe('answered');
    expect(inquiry.requestId, 'the requester’s own request id is on the result').toBe('kanagawa-inquiry-1');
    expect(inquiry.provisionPermit?.route).toEqual({ from: TOKYO, to: KANAGAWA });
    const opened = open(KANAGAWA, inquiry);
    expect(opened, 'the answer is tied to this inquiry and its request id').toMatchObject({
      requestId: 'kanagawa-inquiry-1',
      inquiryId: inquiry.inquiryId,
    });
    expect(opened.items, 'only the person the provision code names').toEqual({
      'jsi.certificate': '21130018/9603283 2025-04-01..2026-03-31',
      'jsi.income-segment': '低所得2',
    });
    expect(JSON.stringify(opened)).not.toContain('一般');
    expect(JSON.stringify(opened)).not.toContain('9999999');
    expect(() => open(TOKYO, inquiry), 'the provider or the exchange cannot read it').toThrow();
    expect(JSON.stringify(inquiry)).not.toContain('低所得2');
    const stored = (await (
      await h.request(`/exchange/v1/inquiries/${inquiry.inquiryId}`, { token: kanagawa })
    ).json()) as Inquiry;
    expect(stored.requestId, 'kept on the inquiry').toBe('kanagawa-inquiry-1');
    expect(open(KANAGAWA, stored).requestId).toBe('kanagawa-inquiry-1');

    const forOther = (await (
      await post('/inquiries', kanagawa, {
        providerId: TOKYO,
        procedure: 'public-assistance',
        provisionCode: await codeFor(kanagawa, other),
        items: ['jsi.certificate', 'jsi.income-segment'],
      })
    ).json()) as Inquiry;
    expect(open(KANAGAWA, forOther).items, 'the second person’s code names the second person').toEqual({
      'jsi.certificate': '21130018/9999999 2025-04-01..2026-03-31',
      'jsi.income-segment': '一般',
    });
  });

  it('records every inquiry — answered or refused — with the requester, the provider and the time', async () => {
    const mn = await personWithReplicas();
    const code = await codeFor(kanagawa, mn);
    const answered = (await (
      await post(
        '/inquiries',
        kanagawa,
        {
          providerId: TOKYO,
          procedure: 'public-assistance',
          provisionCode: code,
          items: ['jsi.income-segment'],
        },
        { 'x-request-id': 'audit-answered-1' },
      )
    ).json()) as Inquiry;
    expect(answered.status).toBe('answered');
    const refused = await post(
      '/inquiries',
      kanagawa,
      {
        providerId: TOKYO,
        procedure: 'disaster-victim-ledger',
        provisionCode: code,
        items: ['jsi.certificate'],
      },
      { 'x-request-id': 'audit-refused-1' },
    );
    expect(refused.status).toBe(403);

    const at = now.toISOString();
    const requester = { actor_kind: 'client', actor_id: kanagawaClient.clientId };
    const answeredLog = await auditFor('audit-answered-1');
    expect(answeredLog.map((e) => e.action)).toEqual([
      'exchange.inquiry-permitted',
      'exchange.inquiry-answered',
    ]);
    const [permitted, answer] = answeredLog;
    expect(permitted).toMatchObject(requester);
    // The agencies by id, so that the log reads alone even once a client is removed.
    expect(JSON.parse(permitted?.detail ?? '{}')).toMatchObject({
      inquiryId: answered.inquiryId,
      requesterId: KANAGAWA,
      providerId: TOKYO,
      procedure: 'public-assistance',
    });
    expect(answer).toMatchObject({ actor_kind: 'system', actor_id: `agency:${TOKYO}` });
    expect(JSON.parse(answer?.detail ?? '{}')).toMatchObject({
      inquiryId: answered.inquiryId,
      requesterId: KANAGAWA,
      providerId: TOKYO,
    });
    expect(answeredLog.map((e) => new Date(e.at).toISOString())).toEqual([at, at]);
    expect(JSON.stringify(answeredLog), 'the log holds no item value').not.toContain('低所得2');

    const refusedLog = await auditFor('audit-refused-1');
    expect(refusedLog.map((e) => e.action)).toEqual(['exchange.inquiry-refused']);
    expect(refusedLog[0]).toMatchObject(requester);
    expect(new Date(refusedLog[0]?.at ?? 0).toISOString()).toBe(at);
    expect(JSON.parse(refusedLog[0]?.detail ?? '{}')).toMatchObject({
      requesterId: KANAGAWA,
      providerId: TOKYO,
      procedure: 'disaster-victim-ledger',
      reason: 'procedure-not-permitted',
    });
    expect(await verifyAuditChain(h.database.db, EXCHANGE_AUDIT_CHAIN)).toMatchObject({ ok: true });
  });

  it('refuses what the permit list does not allow, with the reason, and sends nothing', async () => {
    const mn = await personWithReplicas();
    const code = await codeFor(kanagawa, mn);
    const wrongProcedure = await post('/inquiries', kanagawa, {
      providerId: TOKYO,
      procedure: 'disaster-victim-ledger',
      provisionCode: code,
      items: ['jsi.certificate'],
    });
    expect(wrongProcedure.status).toBe(403);
    expect(((await wrongProcedure.json()) as { errors: { code: string }[] }).errors[0]?.code).toBe(
      'procedure-not-permitted',
    );
    const wrongItem = await post('/inquiries', kanagawa, {
      providerId: TOKYO,
      procedure: 'public-assistance',
      provisionCode: code,
      items: ['jsi.disability-icd'],
    });
    const body = (await wrongItem.json()) as { errors: { code: string }[] };
    expect(body.errors[0]?.code).toBe('item-not-permitted');
    const refused = await queryRows<{ n: number }>(
      h.database.db,
      sql`select count(*)::int as n from agency.inquiries where status = 'refused' and answer is not null`,
    );
    expect(refused[0]?.n, 'a refused inquiry carries no answer').toBe(0);
  });

  it('holds a sensitive item until the provider’s staff release it, then delivers it', async () => {
    const mn = await personWithReplicas('disaster-victim-ledger', { 'jsi.disability-icd': 'F32.1' });
    const res = await post('/inquiries', chiyoda, {
      providerId: TOKYO,
      procedure: 'disaster-victim-ledger',
      provisionCode: await codeFor(chiyoda, mn),
      items: ['jsi.certificate', 'jsi.disability-icd'],
    });
    const held = (await res.json()) as Inquiry;
    expect(held.status).toBe('awaiting-release');
    expect(held.answer).toBeUndefined();
    const pending = (await (await h.request('/exchange/v1/releases', { token: tokyoStaff })).json()) as {
      pending: { inquiryId: string; heldItems: string[]; content: Record<string, string> }[];
    };
    const mine = pending.pending.find((p) => p.inquiryId === held.inquiryId);
    expect(mine?.heldItems).toEqual(['jsi.disability-icd']);
    expect(mine?.content['jsi.disability-icd'], 'staff re-check the content').toBe('F32.1');
    const released = await post(
      `/releases/${held.inquiryId}/release`,
      tokyoStaff,
      {},
      { 'x-operator': 'sato' },
    );
    expect(released.status).toBe(200);
    const result = (await (
      await h.request(`/exchange/v1/inquiries/${held.inquiryId}`, { token: chiyoda })
    ).json()) as Inquiry;
    expect(result.status).toBe('answered');
    expect(open(CHIYODA, result).items['jsi.disability-icd']).toBe('F32.1');
    const audit = await queryRows<{ actor_id: string }>(
      h.database.db,
      sql`select actor_id from audit.entries where tenant_code = ${EXCHANGE_AUDIT_CHAIN} and action = 'exchange.inquiry-released'`,
    );
    expect(
      audit.some((a) => a.actor_id.endsWith('/sato')),
      'the releasing operator is recorded',
    ).toBe(true);
  });

  it('lets staff refuse a held answer, recording why, and delivers nothing', async () => {
    const mn = await personWithReplicas('disaster-victim-ledger', { 'jsi.disability-icd': 'F20.0' });
    const held = (await (
      await post('/inquiries', chiyoda, {
        providerId: TOKYO,
        procedure: 'disaster-victim-ledger',
        provisionCode: await codeFor(chiyoda, mn),
        items: ['jsi.disability-icd'],
      })
    ).json()) as Inquiry;
    const refused = await post(
      `/releases/${held.inquiryId}/refuse`,
      tokyoStaff,
      { reason: '本人の同意が確認できない' },
      { 'x-operator': 'suzuki' },
    );
    const body = (await refused.json()) as Inquiry;
    expect(body.status).toBe('refused-by-provider');
    expect(body.answer).toBeUndefined();
  });

  it('does not show one agency another agency’s inquiry', async () => {
    const mn = await personWithReplicas();
    const inquiry = (await (
      await post('/inquiries', kanagawa, {
        providerId: TOKYO,
        procedure: 'public-assistance',
        provisionCode: await codeFor(kanagawa, mn),
        items: ['jsi.certificate'],
      })
    ).json()) as Inquiry;
    expect((await h.request(`/exchange/v1/inquiries/${inquiry.inquiryId}`, { token: chiyoda })).status).toBe(
      404,
    );
  });

  it('gives two agencies codes for the same person that share nothing', async () => {
    const mn = await personWithReplicas('public-assistance', {
      'jsi.certificate': '21130018/4747474 2025-04-01..2026-03-31',
    });
    const a = await codeFor(kanagawa, mn);
    const b = await codeFor(chiyoda, mn);
    expect(a).not.toBe(b);
    expect(await codeFor(kanagawa, mn), 'stable per agency').toBe(a);
    const inquire = async (provisionCode: string) => {
      const res = await post('/inquiries', chiyoda, {
        providerId: TOKYO,
        procedure: 'disaster-victim-ledger',
        provisionCode,
        items: ['jsi.certificate'],
      });
      expect(res.status, await res.clone().text()).toBe(201);
      return (await res.json()) as Inquiry;
    };
    const own = await inquire(b);
    expect(open(CHIYODA, own).items['jsi.certificate'], 'Chiyoda’s own code names the person').toBe(
      '21130018/4747474 2025-04-01..2026-03-31',
    );
    const borrowed = await inquire(a);
    expect(borrowed.status).toBe('answered');
    const opened = open(CHIYODA, borrowed);
    // Named no one for Chiyoda, and answered exactly as for a person the provider holds
    // nothing on: the answer does not tell whether the code names anyone.
    expect(opened.items, 'Kanagawa’s code names no one for Chiyoda').toEqual({ 'jsi.certificate': null });
    expect(JSON.stringify(opened)).not.toContain('4747474');
  });

  it('deletes inquiry results after the retention period', async () => {
    const mn = await personWithReplicas();
    const inquiry = (await (
      await post('/inquiries', kanagawa, {
        providerId: TOKYO,
        procedure: 'public-assistance',
        provisionCode: await codeFor(kanagawa, mn),
        items: ['jsi.certificate'],
      })
    ).json()) as Inquiry;
    const day = 24 * 3600_000;
    expect(await h.system.exchange.purgeResults(30 * day)).toBe(0);
    now = new Date(now.getTime() + 31 * day);
    expect(await h.system.exchange.purgeResults(30 * day)).toBeGreaterThan(0);
    expect((await h.request(`/exchange/v1/inquiries/${inquiry.inquiryId}`, { token: kanagawa })).status).toBe(
      404,
    );
    expect(await verifyAuditChain(h.database.db, EXCHANGE_AUDIT_CHAIN)).toMatchObject({ ok: true });
  });
});

describe('reconciliation', () => {
  it('exports the provider’s replicas, a provision-status check list and an error check list, as JSON and CSV', async () => {
    const mn = await personWithReplicas();
    const code = await codeFor(kanagawa, mn);
    await post('/inquiries', kanagawa, {
      providerId: TOKYO,
      procedure: 'public-assistance',
      provisionCode: code,
      items: ['jsi.certificate'],
    });
    const replicasJson = (await (
      await h.request('/exchange/v1/reconciliation/replicas', { token: tokyoStaff })
    ).json()) as {
      rows: { itemCode: string; value: string }[];
    };
    expect(replicasJson.rows.some((r) => r.itemCode === 'jsi.income-segment' && r.value === '低所得2')).toBe(
      true,
    );
    const status = (await (
      await h.request('/exchange/v1/reconciliation/provision-status', { token: tokyoStaff })
    ).json()) as {
      rows: { requesterId: string; status: string; count: number }[];
    };
    expect(
      status.rows.find((r) => r.requesterId === KANAGAWA && r.status === 'answered')?.count,
    ).toBeGreaterThan(0);
    const errors = (await (
      await h.request('/exchange/v1/reconciliation/errors', { token: tokyoStaff })
    ).json()) as {
      rows: { procedure: string; missingItems: string[] }[];
    };
    expect(
      errors.rows.some(
        (r) => r.procedure === 'public-assistance' && r.missingItems.includes('jsi.copayment-cap'),
      ),
    ).toBe(true);
    const csv = await h.request('/exchange/v1/reconciliation/provision-status?format=csv', {
      token: tokyoStaff,
    });
    expect(csv.headers.get('content-type')).toContain('text/csv');
    expect((await csv.text()).split('\r\n')[0]).toBe('requesterId,procedure,status,count');
    expect(
      (await h.request('/exchange/v1/reconciliation/replicas', { token: kanagawa })).status,
      'requesters cannot export',
    ).toBe(403);
  });
});

describe('four-eyes release', () => {
  it('releases a held answer only when a second, different operator approves it', async () => {
    const { ExchangeService } = await import('../../../src/intermediate/agency/index.js');
    const { randomBytes } = await import('node:crypto');
    const strict = new ExchangeService({
      db: h.database.db,
      keyRing: h.system.keyRing,
      permitList: h.system.permitList,
      clock: () => now,
      master: randomBytes(32),
      fourEyes: true,
    });
    const actor = { kind: 'user' as const, id: 'staff' };
    const mn = myNumber();
    await strict.storeReplicas(
      TOKYO,
      [{ myNumber: mn, items: { 'jsi.disability-icd': 'F31.0' } }],
      actor,
      'r1',
    );
    const held = await strict.submitInquiry(
      { requesterId: CHIYODA, actor, requestId: 'r2' },
      {
        providerId: TOKYO,
        procedure: 'disaster-victim-ledger',
        provisionCode: await strict.provisionCode(CHIYODA, mn),
        items: ['jsi.disability-icd'],
      },
    );
    const first = await strict.decideRelease(TOKYO, held.inquiryId, {
      release: true,
      operator: 'ito',
      actor,
    });
    expect(first?.status).toBe('awaiting-release');
    const same = await strict.decideRelease(TOKYO, held.inquiryId, { release: true, operator: 'ito', actor });
    expect(same?.status, 'the same operator cannot approve twice').toBe('awaiting-release');
    const second = await strict.decideRelease(TOKYO, held.inquiryId, {
      release: true,
      operator: 'kato',
      actor,
    });
    expect(second?.status).toBe('answered');
    expect(open(CHIYODA, second as Inquiry).items['jsi.disability-icd']).toBe('F31.0');
  });
});
