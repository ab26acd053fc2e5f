import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSealed, type SealedForRecipient } from '../../src/crypto/index.js';
import { myNumber } from '../fixtures/records.js';
import { startServer } from './server.js';

const dir = await mkdtemp(path.join(tmpdir(), 'pmh-exchange-e2e-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

interface Agency {
  agencyId: string;
  keyFile: string;
  tokens: { replica?: string; release?: string; inquire?: string };
}
interface Inquiry {
  inquiryId: string;
  status: string;
  answer?: SealedForRecipient;
}

describe.skipIf(Boolean(process.env.DATABASE_URL))('the exchange end to end on loopback', () => {
  it('answers a permitted inquiry for the requester only, refuses another, holds a sensitive item until released, and forgets results after the retention period', async () => {
    const server = await startServer({
      DATA_DIR: dir,
      INQUIRY_RETENTION_MS: '3000',
      RETENTION_INTERVAL_MS: '500',
    });
    try {
      const { agencies } = JSON.parse(readFileSync(path.join(dir, 'demo-exchange.json'), 'utf8')) as {
        agencies: Agency[];
      };
      const [tokyo, chiyoda, kanagawa] = ['130001', '131016', '140007'].map(
        (id) => agencies.find((a) => a.agencyId === id) as Agency,
      );
      const call = async (
        token: string | undefined,
        method: string,
        p: string,
        body?: unknown,
        headers: Record<string, string> = {},
      ) =>
        fetch(`${server.url}/exchange/v1${p}`, {
          method,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
      const open = (agency: Agency | undefined, inquiry: Inquiry) =>
        JSON.parse(
          openSealed(
            readFileSync(agency?.keyFile ?? '', 'utf8'),
            inquiry.answer as SealedForRecipient,
            `inquiry:${inquiry.inquiryId}`,
          ).toString(),
        ) as {
          items: Record<string, string>;
        };

      const person = myNumber();
      for (const [procedure, items] of [
        ['public-assistance', { 'jsi.certificate': '21130018/9603283', 'jsi.income-segment': '低所得1' }],
        ['disaster-victim-ledger', { 'jsi.certificate': '21130018/9603283', 'jsi.disability-icd': 'F41.1' }],
      ] as const) {
        const reg = await call(
          tokyo?.tokens.replica,
          'POST',
          '/replicas',
          { procedure, records: [{ myNumber: person, items }] },
          { 'x-request-id': `reg-${procedure}` },
        );
        expect(await reg.json()).toEqual({ requestId: `reg-${procedure}`, stored: 1 });
      }
      const code = async (agency: Agency | undefined) =>
        (
          (await (
            await call(agency?.tokens.inquire, 'POST', '/provision-codes', { myNumber: person })
          ).json()) as { provisionCode: string }
        ).provisionCode;

      const answered = (await (
        await call(kanagawa?.tokens.inquire, 'POST', '/inquiries', {
          providerId: '130001',
          procedure: 'public-assistance',
          provisionCode: await code(kanagawa),
          items: ['jsi.income-segment'],
        })
      ).json()) as Inquiry;
      expect(answered.status).toBe('answered');
      expect(open(kanagawa, answered).items['jsi.income-segment']).toBe('低所得1');
      expect(() => open(chiyoda, answered)).toThrow();

      const refused = await call(kanagawa?.tokens.inquire, 'POST', '/inquiries', {
        providerId: '130001',
        procedure: 'disaster-victim-ledger',
        provisionCode: await code(kanagawa),
        items: ['jsi.certificate'],
      });
      expect(refused.status).toBe(403);

      const held = (await (
        await call(chiyoda?.tokens.inquire, 'POST', '/inquiries', {
          providerId: '130001',
          procedure: 'disaster-victim-ledger',
          provisionCode: await code(chiyoda),
          items: ['jsi.disability-icd'],
        })
      ).json()) as Inquiry;
      expect(held.status).toBe('awaiting-release');
      const release = await call(
        tokyo?.tokens.release,
        'POST',
        `/releases/${held.inquiryId}/release`,
        undefined,
        { 'x-operator': 'takahashi' },
      );
      expect(release.status).toBe(200);
      const delivered = (await (
        await call(chiyoda?.tokens.inquire, 'GET', `/inquiries/${held.inquiryId}`)
      ).json()) as Inquiry;
      expect(open(chiyoda, delivered).items['jsi.disability-icd']).toBe('F41.1');

      let gone = false;
      for (let i = 0; i < 40 && !gone; i++) {
        await new Promise((r) => setTimeout(r, 250));
        gone =
          (await call(kanagawa?.tokens.inquire, 'GET', `/inquiries/${answered.inquiryId}`)).status === 404;
      }
      expect(gone, 'the result is deleted after the retention period').toBe(true);
    } finally {
      await server.stop();
    }
  });
});
