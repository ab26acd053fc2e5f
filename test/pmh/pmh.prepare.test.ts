import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hmac, open } from '../../src/crypto/index.js';
import { entitlementContext, prepareRecords, subjectContext } from '../../src/pmh/pmh.prepare.js';
import { registrationRecordSchema } from '../../src/pmh/pmh.schemas.js';
import { record } from '../fixtures/records.js';

const keys = { dataKey: randomBytes(32), blindIndexKey: randomBytes(32), digestKey: randomBytes(32) };

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
