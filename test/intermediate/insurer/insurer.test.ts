import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KeyRing } from '../../../src/crypto/index.js';
import { queryRows, sql } from '../../../src/db/client.js';
import { runMigrations } from '../../../src/db/migrate.js';
import { createLogger } from '../../../src/gateway/http/logger.js';
import {
  createInsurerApp,
  InsurerService,
  type NumberingRequestItem,
} from '../../../src/intermediate/insurer/index.js';
import { myNumber, record } from '../../fixtures/records.js';
import { openTestDatabase } from '../../support/harness.js';

const database = await openTestDatabase();
await runMigrations(database);
const keyRing = await KeyRing.open(database.db, randomBytes(32));
const insurer = new InsurerService({ db: database.db, keyRing, clock: () => new Date() });
const token = randomBytes(24).toString('base64url');
const app = createInsurerApp({ insurer, token, logger: createLogger('silent') });
let n = 0;

async function person(): Promise<NumberingRequestItem> {
  const r = record();
  n += 1;
  await insurer.load([
    {
      myNumber: r.myNumber,
      basicFiveInfo: r.basicFiveInfo,
      bindingNumber: `U${String(n).padStart(11, '0')}`,
      insurerNumber: '06130001',
    },
  ]);
  return { myNumber: r.myNumber, basicFiveInfo: r.basicFiveInfo };
}

async function call(items: NumberingRequestItem[], key = randomBytes(8).toString('hex'), auth = token) {
  return app.request('/insurer/v1/pmh-id-requests', {
    method: 'POST',
    headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify({ items }),
  });
}

describe('requestPmhIds', () => {
  it('answers exactly the PMH-ID, the 個人番号 as sent and the outcome — nothing of the basic information', async () => {
    const p = await person();
    const res = await call([p]);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { items: Record<string, unknown>[] };
    expect(Object.keys(body)).toEqual(['items']);
    expect(body.items).toHaveLength(1);
    expect(Object.keys(body.items[0] ?? {}).sort()).toEqual(['myNumber', 'outcome', 'pmhId']);
    expect(body.items[0]).toMatchObject({ myNumber: p.myNumber, outcome: 'assigned' });
    const text = JSON.stringify(body);
    for (const value of [
      p.basicFiveInfo.name,
      p.basicFiveInfo.nameKana,
      p.basicFiveInfo.address,
      p.basicFiveInfo.dateOfBirth,
    ]) {
      expect(text).not.toContain(value);
    }
  });

  it('returns the same PMH-ID for a 個人番号 that already has one', async () => {
    const p = await person();
    const first = (await (await call([p])).json()) as { items: { pmhId: string }[] };
    const again = (await (await call([p])).json()) as { items: { pmhId: string; outcome: string }[] };
    expect(again.items[0]).toEqual({
      myNumber: p.myNumber,
      pmhId: first.items[0]?.pmhId,
      outcome: 'existing',
    });
  });

  it('gives one person one PMH-ID when two batches number them at the same time', async () => {
    const shared = await person();
    const others = await Promise.all(Array.from({ length: 6 }, () => person()));
    // Two batches in flight at once, both carrying the shared person (on PostgreSQL they run
    // side by side; the link, unique per binding number, decides which PMH-ID stands).
    const [a, b] = await Promise.all([
      insurer.requestPmhIds({
        idempotencyKey: randomBytes(8).toString('hex'),
        items: [...others.slice(0, 3), shared],
      }),
      insurer.requestPmhIds({
        idempotencyKey: randomBytes(8).toString('hex'),
        items: [shared, ...others.slice(3)],
      }),
    ]);
    const first = a?.[3];
    const second = b?.[0];
    expect(first?.pmhId).toBeTruthy();
    expect(second?.pmhId, 'the same PMH-ID in both answers').toBe(first?.pmhId);
    expect([first?.outcome, second?.outcome].sort()).toEqual(['assigned', 'existing']);
    const links = await queryRows<{ n: number }>(
      database.db,
      sql`select count(*)::int as n from insurer.eligibility_links where pmh_id in (${first?.pmhId ?? ''}, ${second?.pmhId ?? ''})`,
    );
    expect(links[0]?.n, 'one link').toBe(1);
  });

  it('assigns nothing when the cross-check fails, and says which fields failed without their values', async () => {
    const p = await person();
    const res = (await (
      await call([{ ...p, basicFiveInfo: { ...p.basicFiveInfo, sex: '1', dateOfBirth: '1999-12-31' } }])
    ).json()) as {
      items: Record<string, unknown>[];
    };
    expect(res.items[0]).toEqual({
      myNumber: p.myNumber,
      pmhId: null,
      outcome: 'cross-check-failed',
      reasons: [
        { field: 'dateOfBirth', verdict: 'mismatch' },
        { field: 'sex', verdict: 'mismatch' },
      ],
    });
  });

  it('answers not-found for a person it does not hold, in the order asked', async () => {
    const p = await person();
    const stranger = myNumber();
    const res = (await (await call([{ ...p, myNumber: stranger }, p])).json()) as {
      items: { myNumber: string; outcome: string }[];
    };
    expect(res.items.map((i) => [i.myNumber, i.outcome])).toEqual([
      [stranger, 'not-found'],
      [p.myNumber, 'assigned'],
    ]);
  });

  it('returns the first answer for a repeated idempotency key and assigns nothing twice', async () => {
    const p = await person();
    const first = await (await call([p], 'same-key')).json();
    const second = await (await call([p], 'same-key')).json();
    expect(second).toEqual(first);
  });

  it('refuses a caller without the service token', async () => {
    const res = await call([await person()], 'k', 'wrong-token-wrong-token');
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
  });

  it('refuses a request with extra fields, without echoing the 個人番号', async () => {
    const p = await person();
    const res = await app.request('/insurer/v1/pmh-id-requests', {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'idempotency-key': 'x',
      },
      body: JSON.stringify({ items: [{ ...p, bindingNumber: 'B1' }] }),
    });
    expect(res.status).toBe(422);
    expect(await res.text()).not.toContain(p.myNumber);
  });
});
