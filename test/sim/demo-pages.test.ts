import { generateKeyPairSync, randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Hono } from 'hono';
import { afterAll, describe, expect, it } from 'vitest';
import { SCOPES } from '../../src/identity/index.js';
import { withLuhnCheckDigit, withRecipientCheckDigit } from '../../src/japanese/index.js';
import { NO_ENTITLEMENTS } from '../../src/sim/clinic/index.js';
import { createSimulatorPages, DemoDataError, demoSimulators } from '../../src/sim/demo/index.js';
import { EligibilitySystem } from '../../src/sim/eligibility/index.js';
import { memoryPortalStore, Portal } from '../../src/sim/portal/index.js';
import { record } from '../fixtures/records.js';
import { createHarness, drainNumbering } from '../support/harness.js';

const h = await createHarness();
const insurerToken = randomBytes(24).toString('base64url');
const { createInsurerApp } = await import('../../src/intermediate/insurer/index.js');
const { createLogger } = await import('../../src/gateway/http/logger.js');
const insurerApp = createInsurerApp({
  insurer: h.system.insurer,
  token: insurerToken,
  logger: createLogger('silent'),
});
const hub = (p: string, init?: RequestInit) => Promise.resolve(h.system.app.request(p, init));
const insurer = (p: string, init?: RequestInit) => Promise.resolve(insurerApp.request(p, init));
const eligibility = new EligibilitySystem({
  hub,
  hubToken: await h.service(SCOPES.lookupClinic),
  insurer,
  insurerToken,
  privateKey: h.linkage.eligibilityPrivate,
  hubPublicKey: h.linkage.hubPublic,
  epoch: h.linkage.epoch,
});
const portalStore = memoryPortalStore();
const portal = new Portal({
  hub,
  token: await h.service(SCOPES.portal),
  store: portalStore,
  pmhIdForCard: (card) => eligibility.pmhIdForCard(card),
});
const pages = createSimulatorPages(
  { eligibility, portal, portalStore },
  () => new Date('2025-06-01T03:00:00Z'),
);
const CLINIC = withLuhnCheckDigit('131234567');
const tenant = await h.tenant();
let person = 0;

/** Registers a person with an entitlement at CLINIC, numbers them, and returns their card. */
async function enrolled() {
  person += 1;
  const card = `C${String(800_000 + person).padStart(11, '0')}`;
  const r = record({
    medicalSubsidyRecipientNumber: withRecipientCheckDigit(String(randomInt(100_000, 999_999))),
    designatedMedicalInstitutions: [{ institutionCode: CLINIC }],
  });
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
    token: tenant.token,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([r]),
  });
  expect(res.status, 'registration accepted').toBeLessThan(300);
  await drainNumbering(h.system);
  return { card, record: r };
}

function post(app: Hono, p: string, fields: Record<string, string>) {
  return app.request(p, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
}

describe('simulator pages: clinic terminal', () => {
  it('shows a form with the consent checkbox, the institution and the date of care', async () => {
    const res = await pages.request('/clinic');
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('同意する');
    expect(html).toContain('name="institution"');
    expect(html).toContain('value="2025-06-01"');
    expect(html).not.toContain('<script');
  });

  it('shows the recipient number, the request id and a FHIR view after consent', async () => {
    const { card, record: r } = await enrolled();
    const res = await post(pages, '/clinic', { card, consent: '1', institution: CLINIC, date: '2025-06-01' });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain(r.medicalSubsidyRecipientNumber);
    expect(html).toContain(r.medicalSubsidyInsurerNumber);
    expect(html).toMatch(/clinic-[0-9a-f]{16}/);
    expect(html, 'designated clinic').toContain('はい');
    expect(html).toContain('name="fhir" value="1"');
    expect(html).not.toContain(NO_ENTITLEMENTS);
    expect(html, 'never a 個人番号').not.toContain(r.myNumber);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('renders the FHIR Bundle JSON when asked for fhir=1', async () => {
    const { card, record: r } = await enrolled();
    const res = await post(pages, '/clinic', {
      card,
      consent: '1',
      institution: CLINIC,
      date: '2025-06-01',
      fhir: '1',
    });
    const html = await res.text();
    expect(html).toMatch(/<pre>[\s\S]*&quot;resourceType&quot;: &quot;Bundle&quot;/);
    expect(html).toContain(r.medicalSubsidyRecipientNumber);
  });

  it('shows the same "none" text without consent as for an unknown card', async () => {
    const { card, record: r } = await enrolled();
    const noConsent = await (
      await post(pages, '/clinic', { card, institution: CLINIC, date: '2025-06-01' })
    ).text();
    const unknown = await (
      await post(pages, '/clinic', {
        card: 'C99999999998',
        consent: '1',
        institution: CLINIC,
        date: '2025-06-01',
      })
    ).text();
    expect(noConsent).toContain(NO_ENTITLEMENTS);
    expect(unknown).toContain(NO_ENTITLEMENTS);
    expect(noConsent).not.toContain(r.medicalSubsidyRecipientNumber);
  });

  it('escapes a hostile card serial instead of rendering it as markup', async () => {
    const res = await post(pages, '/clinic', {
      card: '<script>alert("x")</script>',
      consent: '1',
      institution: CLINIC,
      date: '2025-06-01',
    });
    const html = await res.text();
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(html).toContain(NO_ENTITLEMENTS);
  });

  it('shows a refused lookup as a friendly message with the problem code, not a stack trace', async () => {
    const { card } = await enrolled();
    const res = await post(pages, '/clinic', {
      card,
      consent: '1',
      institution: '1312345678',
      date: '2025-06-01',
    });
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(html).toContain('validation-failed');
    expect(html).toContain('入力内容に誤りがあります');
    expect(html).not.toMatch(/at .*\.ts:\d+/);
    expect(html).not.toContain('SimulatorHttpError');
  });

  it('keeps links and forms under the path it is mounted at', async () => {
    const gateway = new Hono();
    gateway.route('/sim', pages);
    const index = await (await gateway.request('/sim')).text();
    expect(index).toContain('href="/sim/clinic"');
    expect(index).toContain('href="/sim/portal"');
    const form = await (await gateway.request('/sim/clinic')).text();
    expect(form).toContain('action="/sim/clinic"');
  });
});

describe('simulator pages: My Number Portal', () => {
  it('shows the resident’s own entitlements and marks the first use, then a returning use', async () => {
    const { card, record: r } = await enrolled();
    const first = await (await post(pages, '/portal', { card, date: '2025-06-01' })).text();
    expect(first).toContain(r.medicalSubsidyRecipientNumber);
    expect(first).toContain('data-first-use="true"');
    expect(first).toContain('初回利用');
    const pmhId = (await eligibility.pmhIdForCard(card)) as string;
    expect(portalStore.dump(), 'the portal keeps no PMH-ID').not.toContain(pmhId);
    const again = await (await post(pages, '/portal', { card, date: '2025-06-01' })).text();
    expect(again).toContain('data-first-use="false"');
    expect(again).toContain(r.medicalSubsidyRecipientNumber);
  });

  it('shows "none" and links nothing for a card without a PMH-ID', async () => {
    const html = await (await post(pages, '/portal', { card: 'C99999999997', date: '2025-06-01' })).text();
    expect(html).toContain(NO_ENTITLEMENTS);
    expect(html).toContain('data-first-use="false"');
    expect(portalStore.get('C99999999997')).toBeUndefined();
  });
});

describe('demoSimulators', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('builds the simulators from the demo data directory, with the saved tokens', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'pmh-demo-'));
    dirs.push(dir);
    const pem = () =>
      generateKeyPairSync('x25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    await writeFile(path.join(dir, 'hub-x25519.pem'), pem());
    await writeFile(path.join(dir, 'eligibility-x25519.pem'), pem());
    await writeFile(path.join(dir, 'insurer.token'), 'insurer-secret\n');
    await writeFile(
      path.join(dir, 'demo-credentials.json'),
      JSON.stringify({ tenants: [], services: { eligibility: 'elig-token', portal: 'portal-token' } }),
    );
    const seen: string[] = [];
    const capture = (p: string, init?: RequestInit) => {
      seen.push(`${p} ${new Headers(init?.headers).get('authorization')}`);
      return Promise.resolve(Response.json({ pmhId: 'ABCDEFGHJKMNPQRS', entitlements: [], requestId: 'r1' }));
    };
    const sims = demoSimulators({ dataDir: dir, hub: capture, insurer: capture });
    expect(await sims.eligibility.pmhIdForCard('C00000000012')).toBe('ABCDEFGHJKMNPQRS');
    expect(await sims.eligibility.issueLinkageKey('C00000000012', 'ABCDEFGHJKMNPQRS')).toMatch(/\./);
    await sims.portal.myEntitlements('C00000000012', '2025-06-01');
    expect(seen).toContain('/insurer/v1/eligibility-links/B00000000012 Bearer insurer-secret');
    expect(
      seen.some((s) => s.startsWith('/pmh/v1/portal-pseudonyms ') && s.endsWith('Bearer portal-token')),
    ).toBe(true);
    expect(sims.portalStore.get('C00000000012'), 'pseudonym kept in portal-store.json').toBeTruthy();
  });

  it('says to start the demo gateway when the data directory is empty', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'pmh-demo-'));
    dirs.push(dir);
    expect(() => demoSimulators({ dataDir: dir, hub: fetch, insurer: fetch })).toThrow(DemoDataError);
    expect(() => demoSimulators({ dataDir: dir, hub: fetch, insurer: fetch })).toThrow(/npm start/);
  });
});
