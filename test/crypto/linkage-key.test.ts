import { generateKeyPairSync, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { compactDecrypt } from 'jose';
import { describe, expect, it } from 'vitest';
import { agreeLinkageKey, openLinkageKey, sealLinkageKey } from '../../src/crypto/index.js';

const hub = generateKeyPairSync('x25519');
const eligibility = generateKeyPairSync('x25519');
const atEligibility = agreeLinkageKey(eligibility.privateKey, hub.publicKey, '1');
const atHub = agreeLinkageKey(hub.privateKey, eligibility.publicKey, '1');
const keys = new Map([[atHub.kid, atHub]]);
const now = new Date('2026-01-01T00:00:00Z');
const iat = Math.floor(now.getTime() / 1000);
const claims = (jti = randomBytes(16).toString('base64url')) => ({
  cardSerial: 'C00000000001',
  pmhId: 'ABCDEFGHJKMNPQRS',
  jti,
  iat,
  exp: iat + 120,
});

describe('linkage keys', () => {
  it('agree on the same key and kid on both sides', () => {
    expect(atHub.kid).toBe(atEligibility.kid);
    expect(Buffer.from(atHub.key).equals(Buffer.from(atEligibility.key))).toBe(true);
  });

  it('open what the eligibility system sealed, and stay a standard JWE that jose itself can open', async () => {
    const c = claims();
    const token = await sealLinkageKey(atEligibility, c);
    expect(await openLinkageKey(keys, token, now)).toEqual({ ok: true, claims: c });
    const { plaintext } = await compactDecrypt(token, atHub.key);
    expect(JSON.parse(new TextDecoder().decode(plaintext))).toEqual(c);
  });

  it('refuse any single changed character', async () => {
    const token = await sealLinkageKey(atEligibility, claims());
    await fc.assert(
      fc.asyncProperty(fc.nat(token.length - 1), fc.constantFrom('A', 'B', '_', '-', 'x'), async (i, ch) => {
        fc.pre(token[i] !== ch && token[i] !== '.');
        const changed = token.slice(0, i) + ch + token.slice(i + 1);
        const result = await openLinkageKey(keys, changed, now);
        expect(result.ok).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('refuse an expired key and a key made under an epoch the hub does not accept', async () => {
    expect(
      await openLinkageKey(
        keys,
        await sealLinkageKey(atEligibility, claims()),
        new Date(now.getTime() + 600_000),
      ),
    ).toEqual({
      ok: false,
      reason: 'expired',
    });
    const other = agreeLinkageKey(eligibility.privateKey, hub.publicKey, '2');
    expect(await openLinkageKey(keys, await sealLinkageKey(other, claims()), now)).toEqual({
      ok: false,
      reason: 'unknown-key',
    });
  });
});
