import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { hmac, open } from '../../src/crypto/index.js';
import { entitlementContext, prepareRecords, subjectContext } from '../../src/pmh/pmh.prepare.js';
import { registrationRecordSchema } from '../../src/pmh/pmh.schemas.js';
import { PreparePool } from '../../src/pmh/prepare-pool.js';
import { record } from '../fixtures/records.js';

const keys = { dataKey: randomBytes(32), blindIndexKey: randomBytes(32), digestKey: randomBytes(32) };
const logger = pino({ level: 'silent' });

function deletion() {
  const r = record();
  return {
    modificationSeg: '2',
    myNumber: r.myNumber,
    orgSpecificCertificateTypeId: r.orgSpecificCertificateTypeId,
  };
}

function records(n: number) {
  return Array.from({ length: n }, (_, i) =>
    registrationRecordSchema.parse(i % 5 === 4 ? deletion() : record()),
  );
}

function expectOpens(
  tenant: string,
  input: ReturnType<typeof records>,
  prepared: ReturnType<typeof prepareRecords>,
) {
  expect(prepared).toHaveLength(input.length);
  prepared.forEach((p, i) => {
    const r = input[i];
    if (!r) throw new Error('missing record');
    expect(Buffer.isBuffer(p.index)).toBe(true);
    expect(p.index.equals(hmac(keys.blindIndexKey, r.myNumber))).toBe(true);
    if (r.modificationSeg === '2') {
      expect(p.upsert).toBeUndefined();
      return;
    }
    const u = p.upsert;
    if (!u) throw new Error('an upsert was not prepared');
    const subject = open(keys.dataKey, u.subjectSealed, subjectContext(tenant, u.subjectId)).toString('utf8');
    const entitlement = open(keys.dataKey, u.entitlementSealed, entitlementContext(tenant, u.entitlementId));
    expect(subject).toBe(u.subjectText);
    expect(entitlement.toString('utf8')).toBe(u.entitlementText);
    expect(JSON.parse(subject).myNumber).toBe(r.myNumber);
    expect(JSON.parse(u.entitlementText)).not.toHaveProperty('myNumber');
    expect(u.subjectDigest.equals(hmac(keys.digestKey, u.subjectText))).toBe(true);
    expect(u.entitlementDigest.equals(hmac(keys.digestKey, u.entitlementText))).toBe(true);
    // A sealed part opens only as the row it was sealed for.
    const otherTenant = tenant === '130001' ? '140007' : '130001';
    expect(() => open(keys.dataKey, u.subjectSealed, subjectContext(otherTenant, u.subjectId))).toThrow();
  });
}

describe('prepareRecords', () => {
  it('seals each part so that it opens to its own text, with digests and blind index of that text', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), (n) => {
        const input = records(n);
        expectOpens('130001', input, prepareRecords('130001', keys, input));
      }),
      { numRuns: 25 },
    );
  });
});

describe('PreparePool', () => {
  it('prepares in a worker thread what the main thread would, as Buffers', async () => {
    const pool = new PreparePool({ logger, minRecords: 1 });
    try {
      const input = records(40);
      const prepared = await pool.prepare('130001', keys, input);
      expectOpens('130001', input, prepared);
      // Fresh ids per call: nothing is reused between submissions.
      const again = await pool.prepare('130001', keys, input);
      expect(again[0]?.upsert?.subjectId).not.toBe(prepared[0]?.upsert?.subjectId);
      expect(pool.counts).toEqual({ inWorker: 2, inline: 0 });
    } finally {
      await pool.close();
    }
  });

  it('prepares inline below its threshold and after the worker is closed', async () => {
    const pool = new PreparePool({ logger, minRecords: 1000 });
    const input = records(3);
    expectOpens('140007', input, await pool.prepare('140007', keys, input));
    await pool.close();
    expect(pool.counts).toEqual({ inWorker: 0, inline: 1 });
  });
});
