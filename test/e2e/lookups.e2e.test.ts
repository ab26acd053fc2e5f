import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeLinkageFile } from '../../src/sim/case-system/linkage-file.js';
import { cardSerialFor, EligibilitySystem } from '../../src/sim/eligibility/index.js';
import { overHttp } from '../../src/sim/http/index.js';
import { memoryPortalStore, Portal } from '../../src/sim/portal/index.js';
import { freePort, startServer } from './server.js';

const dir = await mkdtemp(path.join(tmpdir(), 'pmh-lookups-e2e-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe.skipIf(Boolean(process.env.DATABASE_URL))(
  'lookups end to end, gateway and insurer API on loopback',
  () => {
    it('walks register → number → clinic lookup (JSON, FHIR, replay refused) → portal first use → own entitlements', async () => {
      const insurerPort = await freePort();
      const server = await startServer({
        DATA_DIR: dir,
        DEMO_INSURED: '60',
        INSURER_PORT: String(insurerPort),
      });
      try {
        const creds = JSON.parse(readFileSync(path.join(dir, 'demo-credentials.json'), 'utf8')) as {
          tenants: { token: string }[];
          services: { eligibility: string; portal: string };
        };
        const file = path.join(dir, 'renkei.csv');
        await writeLinkageFile({ path: file, subjects: 60, seed: 1, encoding: 'utf-8' });
        const auth = { authorization: `Bearer ${creds.tenants[0]?.token}` };
        const up = await fetch(`${server.url}/api/v1/linkage-files?fileName=renkei.csv`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'text/csv' },
          body: readFileSync(file),
        });
        const { linkageFileId } = (await up.json()) as { linkageFileId: string };
        let rows: { subjectId: string; numbering?: { status: string } }[] = [];
        for (let i = 0; i < 150; i++) {
          await new Promise((r) => setTimeout(r, 200));
          const view = (await (
            await fetch(`${server.url}/api/v1/linkage-files/${linkageFileId}?limit=100`, { headers: auth })
          ).json()) as {
            status: string;
            rows: typeof rows;
          };
          rows = view.rows;
          if (
            view.status === 'completed' &&
            rows.every((r) => r.numbering && !['pending', 'retrying'].includes(r.numbering.status))
          )
            break;
        }
        expect(rows[0]?.numbering?.status).toBe('numbered');
        expect(rows[49]?.numbering?.status, 'every 50th person fails the demo cross-check').toBe(
          'cross-check-failed',
        );

        const eligibility = new EligibilitySystem({
          hub: overHttp(server.url),
          hubToken: creds.services.eligibility,
          insurer: overHttp(`http://127.0.0.1:${insurerPort}`),
          insurerToken: readFileSync(path.join(dir, 'insurer.token'), 'utf8').trim(),
          privateKey: createPrivateKey(readFileSync(path.join(dir, 'eligibility-x25519.pem'))),
          hubPublicKey: createPublicKey(createPrivateKey(readFileSync(path.join(dir, 'hub-x25519.pem')))),
          epoch: '1',
        });
        const card = cardSerialFor(0);
        const clinic = { institutionCode: '1312345679', dateOfCare: '2025-06-01' };
        const json = await eligibility.lookupAtClinic({ cardSerial: card, consent: true, ...clinic });
        const answer = json.body as { requestId: string; entitlements: unknown[] };
        expect(answer.requestId).toBe(json.requestId);
        expect(answer.entitlements.length).toBeGreaterThan(0);
        const fhir = await eligibility.lookupAtClinic({
          cardSerial: card,
          consent: true,
          ...clinic,
          fhir: true,
        });
        expect((fhir.body as { resourceType: string }).resourceType).toBe('Bundle');
        const key = await eligibility.issueLinkageKey(card, (await eligibility.pmhIdForCard(card)) as string);
        expect((await eligibility.query(key, clinic)).status).toBe(200);
        expect((await eligibility.query(key, clinic)).status, 'the same key again is refused').toBe(422);
        const failed = await eligibility.lookupAtClinic({
          cardSerial: cardSerialFor(49),
          consent: true,
          ...clinic,
        });
        expect(
          (failed.body as { entitlements: unknown[] }).entitlements,
          'no PMH-ID after a failed cross-check',
        ).toEqual([]);

        const store = memoryPortalStore();
        const portal = new Portal({
          hub: overHttp(server.url),
          token: creds.services.portal,
          store,
          pmhIdForCard: (c) => eligibility.pmhIdForCard(c),
        });
        const own = await portal.myEntitlements(card, clinic.dateOfCare);
        expect(own.entitlements).toEqual(
          answer.entitlements.map((e) => {
            const { isDesignatedInstitution: _, ...rest } = e as Record<string, unknown>;
            return rest;
          }),
        );
        expect(store.dump()).not.toContain((await eligibility.pmhIdForCard(card)) as string);
      } finally {
        await server.stop();
      }
    });
  },
);
