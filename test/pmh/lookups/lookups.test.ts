import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../../src/audit/index.js';
import { queryRows, sql } from '../../../src/db/client.js';
import { SCOPES } from '../../../src/identity/index.js';
import { withLuhnCheckDigit, withRecipientCheckDigit } from '../../../src/japanese/index.js';
import { LOOKUP_AUDIT_CHAIN } from '../../../src/pmh/lookups/lookup-committer.js';
import { EligibilitySystem } from '../../../src/sim/eligibility/index.js';
import { memoryPortalStore, Portal } from '../../../src/sim/portal/index.js';
import { record, type UpsertInput } from '../../fixtures/records.js';
import { createHarness, drainNumbering } from '../../support/harness.js';

// On PostgreSQL (CI's second pass) every lookup here goes through the lookup worker thread.
const h = await createHarness({ lookupWorker: true });
const insurerToken = randomBytes(24).toString('base64url');
const { createInsurerApp } = await import('../../../src/intermediate/insurer/index.js');
const { createLogger } = await import('../../../src/gateway/http/logger.js');
const insurerApp = createInsurerApp({
  insurer: h.system.insurer,
  token: insurerToken,
  logger: createLogger('silent'),
});
const eligibility = new EligibilitySystem({
  hub: (path, init) => Promise.resolve(h.system.app.request(path, init)),
  hubToken: await h.service(SCOPES.lookupClinic),
  insurer: (path, init) => Promise.resolve(insurerApp.request(path, init)),
  insurerToken,
  privateKey: h.linkage.eligibilityPrivate,
  hubPublicKey: h.linkage.hubPublic,
  epoch: h.linkage.epoch,
});
const portalToken = await h.service(SCOPES.portal);
const CLINIC = withLuhnCheckDigit('131234567');
const OTHER_CLINIC = withLuhnCheckDigit('139999999');
let person = 0;

/** Registers a person with an entitlement, numbers them, and returns their card. */
async function enrolled(token: string, overrides: Partial<UpsertInput> = {}) {
  person += 1;
  const card = `C${String(900_000 + person).padStart(11, '0')}`;
  const r = record({ designatedMedicalInstitutions: [{ institutionCode: CLINIC }], ...overrides });
  await h.system.insurer.load([
    {
      myNumber: r.myNumber,
      basicFiveInfo: r.basicFiveInfo,
      bindingNumber: `B${card.slice(1)}`,
      insurerNumber: '06130001',
    },
  ]);
  const res = await h.request('/api/v1/subjects', {
    method: 'POST',
    token,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([r]),
  });
  const subjectId = ((await res.json()) as { results: { subjectId: string }[] }).results[0]?.subjectId ?? '';
  await drainNumbering(h.system);
  return { card, record: r, subjectId };
}

interface Answer {
  requestId: string;
  entitlements: {
    municipalityCode: string;
    medicalSubsidyRecipientNumber: string;
    isDesignatedInstitution?: boolean;
  }[];
}

describe('clinic lookups by linkage key', () => {
  it('answers the entitlements valid on the date of care, tied to the request, and says whether the clinic is designated', async () => {
    const t = await h.tenant();
    const { card, record: r } = await enrolled(t.token);
    const at = await eligibility.lookupAtClinic({
      cardSerial: card,
      consent: true,
      institutionCode: CLINIC,
      dateOfCare: '2025-06-01',
    });
    const body = at.body as Answer;
    expect(body.requestId).toBe(at.requestId);
    expect(body.entitlements).toHaveLength(1);
    expect(body.entitlements[0]).toMatchObject({
      municipalityCode: t.municipalityCode,
      medicalSubsidyRecipientNumber: r.medicalSubsidyRecipientNumber,
      isDesignatedInstitution: true,
    });
    const elsewhere = await eligibility.lookupAtClinic({
      cardSerial: card,
      consent: true,
      institutionCode: OTHER_CLINIC,
      dateOfCare: '2025-06-01',
    });
    expect((elsewhere.body as Answer).entitlements[0]?.isDesignatedInstitution).toBe(false);
    expect(JSON.stringify(body)).not.toContain(r.myNumber);
    expect(JSON.stringify(body)).not.toContain(r.basicFiveInfo.name);
  });

  it('refuses the same linkage key a second time', async () => {
    const t = await h.tenant();
    const { card } = await enrolled(t.token);
    const pmhId = (await eligibility.pmhIdForCard(card)) as string;
    const key = await eligibility.issueLinkageKey(card, pmhId);
    const first = await eligibility.query(key, { institutionCode: CLINIC, dateOfCare: '2025-06-01' });
    expect(first.status).toBe(200);
    const again = await eligibility.query(key, { institutionCode: CLINIC, dateOfCare: '2025-06-01' });
    expect(again.status).toBe(422);
    expect(((await again.json()) as { code: string; errors: { code: string }[] }).errors[0]?.code).toBe(
      'replayed',
    );
  });

  it('refuses a tampered key and one from an unknown system', async () => {
    const t = await h.tenant();
    const { card } = await enrolled(t.token);
    const key = await eligibility.issueLinkageKey(card, (await eligibility.pmhIdForCard(card)) as string);
    const parts = key.split('.');
    const ciphertext = parts[3] ?? '';
    parts[3] = `${ciphertext.slice(0, -2)}${ciphertext.endsWith('AA') ? 'BB' : 'AA'}`;
    const tampered = await eligibility.query(parts.join('.'), {
      institutionCode: CLINIC,
      dateOfCare: '2025-06-01',
    });
    expect(tampered.status).toBe(422);
    const other = new EligibilitySystem({
      hub: (path, init) => Promise.resolve(h.system.app.request(path, init)),
      hubToken: await h.service(SCOPES.lookupClinic),
      insurer: (path, init) => Promise.resolve(insurerApp.request(path, init)),
      insurerToken,
      privateKey: (await import('node:crypto')).generateKeyPairSync('x25519').privateKey,
      hubPublicKey: h.linkage.hubPublic,
      epoch: '1',
    });
    const foreign = await other.query(await other.issueLinkageKey(card, 'ABCDEFGHJKMNPQRS'), {
      institutionCode: CLINIC,
      dateOfCare: '2025-06-01',
    });
    expect(((await foreign.json()) as { errors: { code: string }[] }).errors[0]?.code).toBe('unknown-key');
  });

  it('refuses an expired key', async () => {
    const t = await h.tenant();
    const { card } = await enrolled(t.token);
    const past = new EligibilitySystem({
      hub: (path, init) => Promise.resolve(h.system.app.request(path, init)),
      hubToken: await h.service(SCOPES.lookupClinic),
      insurer: (path, init) => Promise.resolve(insurerApp.request(path, init)),
      insurerToken,
      privateKey: h.linkage.eligibilityPrivate,
      hubPublicKey: h.linkage.hubPublic,
      epoch: '1',
      clock: () => new Date(Date.now() - 3_600_000),
    });
    const res = await past.query(
      await past.issueLinkageKey(card, (await past.pmhIdForCard(card)) as string),
      {
        institutionCode: CLINIC,
        dateOfCare: '2025-06-01',
      },
    );
    expect(((await res.json()) as { errors: { code: string }[] }).errors[0]?.code).toBe('expired');
  });

  it('answers no consent exactly like no entitlement', async () => {
    const t = await h.tenant();
    const { card } = await enrolled(t.token);
    const noConsent = await eligibility.lookupAtClinic({
      cardSerial: card,
      consent: false,
      institutionCode: CLINIC,
      dateOfCare: '2025-06-01',
    });
    const stranger = await eligibility.lookupAtClinic({
      cardSerial: 'C99999999999',
      consent: true,
      institutionCode: CLINIC,
      dateOfCare: '2025-06-01',
    });
    expect((noConsent.body as Answer).entitlements).toEqual([]);
    expect(Object.keys(noConsent.body as object).sort()).toEqual(Object.keys(stranger.body as object).sort());
  });

  it('honours 不開示, 閲覧停止, validity and the forced expiry date', async () => {
    const t = await h.tenant();
    const { card, subjectId } = await enrolled(t.token);
    const look = async (date: string) =>
      (
        (
          await eligibility.lookupAtClinic({
            cardSerial: card,
            consent: true,
            institutionCode: CLINIC,
            dateOfCare: date,
          })
        ).body as Answer
      ).entitlements.length;
    expect(await look('2025-06-01')).toBe(1);
    expect(await look('2025-03-31'), 'before validFrom').toBe(0);
    expect(await look('2026-04-01'), 'after validTo').toBe(0);
    const subject = (await (await h.request(`/api/v1/subjects/${subjectId}`, { token: t.token })).json()) as {
      entitlements: { entitlementId: string }[];
    };
    const base = `/api/v1/subjects/${subjectId}`;
    const json = { 'content-type': 'application/json' };
    await h.request(`${base}/entitlements/${subject.entitlements[0]?.entitlementId}/expire`, {
      method: 'POST',
      token: t.token,
      headers: json,
      body: JSON.stringify({ forcedExpiryDate: '2025-09-30' }),
    });
    expect(await look('2025-09-30'), 'valid through its forced expiry date').toBe(1);
    expect(await look('2025-10-01'), 'not valid after its forced expiry date').toBe(0);
    await h.request(`${base}/control-flags`, {
      method: 'PUT',
      token: t.token,
      headers: json,
      body: JSON.stringify({ isNotDisclosed: true }),
    });
    expect(await look('2025-06-01'), '不開示').toBe(0);
    await h.request(`${base}/control-flags`, {
      method: 'PUT',
      token: t.token,
      headers: json,
      body: JSON.stringify({ isNotDisclosed: false, viewingSuspended: true }),
    });
    expect(await look('2025-06-01'), '閲覧停止').toBe(0);
  });

  it('answers an entitlement as last registered, after the case system changed it', async () => {
    const t = await h.tenant();
    const { card, record: r } = await enrolled(t.token);
    const look = async () =>
      (
        (
          await eligibility.lookupAtClinic({
            cardSerial: card,
            consent: true,
            institutionCode: CLINIC,
            dateOfCare: '2025-06-01',
          })
        ).body as Answer
      ).entitlements;
    expect(await look()).toHaveLength(1);
    const changed = { ...r, medicalSubsidyRecipientNumber: withRecipientCheckDigit('654321') };
    const res = await h.request('/api/v1/subjects', {
      method: 'POST',
      token: t.token,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([changed]),
    });
    expect(((await res.json()) as { results: { outcome: string }[] }).results[0]?.outcome).toBe('updated');
    expect((await look()).map((e) => e.medicalSubsidyRecipientNumber)).toEqual([
      changed.medicalSubsidyRecipientNumber,
    ]);
  });

  it('answers across tenants for the same person, and only that person', async () => {
    const tokyo = await h.tenant();
    const kanagawa = await h.tenant();
    const { card, record: r } = await enrolled(tokyo.token);
    await enrolled(kanagawa.token);
    await h.request('/api/v1/subjects', {
      method: 'POST',
      token: kanagawa.token,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ ...r, medicalSubsidyRecipientNumber: '9603283' }]),
    });
    await drainNumbering(h.system);
    const body = (
      await eligibility.lookupAtClinic({
        cardSerial: card,
        consent: true,
        institutionCode: CLINIC,
        dateOfCare: '2025-06-01',
      })
    ).body as Answer;
    expect(body.entitlements.map((e) => e.municipalityCode).sort()).toEqual(
      [tokyo.municipalityCode, kanagawa.municipalityCode].sort(),
    );
    expect(new Set(body.entitlements.map((e) => e.medicalSubsidyRecipientNumber))).toEqual(
      new Set([r.medicalSubsidyRecipientNumber, '9603283']),
    );
  });

  it('audits every lookup in the lookups chain before answering', async () => {
    const t = await h.tenant();
    const { card } = await enrolled(t.token);
    const at = await eligibility.lookupAtClinic({
      cardSerial: card,
      consent: true,
      institutionCode: CLINIC,
      dateOfCare: '2025-06-01',
    });
    const rows = await queryRows<{ action: string }>(
      h.database.db,
      sql`select action from audit.entries where tenant_code = ${LOOKUP_AUDIT_CHAIN} and request_id = ${at.requestId}`,
    );
    expect(rows.map((r) => r.action)).toEqual(['lookup.clinic']);
    expect(await verifyAuditChain(h.database.db, LOOKUP_AUDIT_CHAIN)).toMatchObject({ ok: true });
  });

  it("lists every clinic lookup of a person in that person's access history, for its municipality only", async () => {
    const t = await h.tenant();
    const { card, subjectId } = await enrolled(t.token);
    const at = await eligibility.lookupAtClinic({
      cardSerial: card,
      consent: true,
      institutionCode: CLINIC,
      dateOfCare: '2025-06-01',
    });
    const res = await h.request(`/api/v1/subjects/${subjectId}/access-history`, { token: t.token });
    expect(res.status, await res.clone().text()).toBe(200);
    const history = (await res.json()) as {
      entries: { chain: string; action: string; requestId: string | null; at: string }[];
    };
    // Newest first; the two chains are merged by time, so only the set is fixed within one millisecond.
    expect(history.entries.map((e) => e.action).sort()).toEqual(
      ['entitlement.created', 'lookup.clinic', 'subject.numbered'].sort(),
    );
    expect(history.entries.find((e) => e.action === 'lookup.clinic')).toMatchObject({
      chain: 'lookups',
      requestId: at.requestId,
    });
    const times = history.entries.map((e) => e.at);
    expect([...times].sort().reverse()).toEqual(times);
    const other = await h.tenant();
    expect(
      (await h.request(`/api/v1/subjects/${subjectId}/access-history`, { token: other.token })).status,
    ).toBe(404);
  });

  it('answers a FHIR Bundle of Coverage when asked for application/fhir+json', async () => {
    const t = await h.tenant();
    const { card } = await enrolled(t.token);
    const at = await eligibility.lookupAtClinic({
      cardSerial: card,
      consent: true,
      institutionCode: CLINIC,
      dateOfCare: '2025-06-01',
      fhir: true,
    });
    expect(at.contentType).toContain('application/fhir+json');
    const bundle = at.body as { resourceType: string; entry: { resource: { resourceType: string } }[] };
    expect(bundle.resourceType).toBe('Bundle');
    expect(bundle.entry.map((e) => e.resource.resourceType)).toEqual(['Coverage']);
  });
});

describe('portal lookups by pseudonym', () => {
  it('links a new pseudonym on first use, forgets the PMH-ID, and answers only the resident’s own entitlements', async () => {
    const t = await h.tenant();
    const { card, record: r } = await enrolled(t.token);
    await enrolled(t.token);
    const store = memoryPortalStore();
    const portal = new Portal({
      hub: (path, init) => Promise.resolve(h.system.app.request(path, init)),
      token: portalToken,
      store,
      pmhIdForCard: (c) => eligibility.pmhIdForCard(c),
    });
    const answer = await portal.myEntitlements(card, '2025-06-01');
    expect(answer.entitlements).toHaveLength(1);
    expect(
      (answer.entitlements[0] as { medicalSubsidyRecipientNumber: string }).medicalSubsidyRecipientNumber,
    ).toBe(r.medicalSubsidyRecipientNumber);
    const pmhId = (await eligibility.pmhIdForCard(card)) as string;
    expect(store.dump()).not.toContain(pmhId);
    const again = await portal.myEntitlements(card, '2025-06-01');
    expect(again.entitlements).toHaveLength(1);
    expect(JSON.stringify(again)).not.toContain(r.myNumber);
  });

  it('answers an unknown pseudonym like one with no entitlements', async () => {
    const res = await h.request(
      `/pmh/v1/portal-pseudonyms/${randomBytes(24).toString('base64url')}/entitlements?dateOfCare=2025-06-01`,
      {
        token: portalToken,
      },
    );
    expect(res.status).toBe(200);
    expect(((await res.json()) as Answer).entitlements).toEqual([]);
  });
});
