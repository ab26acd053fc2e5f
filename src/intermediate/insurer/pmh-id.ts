import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A new PMH-ID: 16 characters of Crockford base32 from 80 random bits — fixed length,
 * unguessable, and carrying no personal data.
 *
 * @example
 * newPmhId(); // '7QK2M0ZB4X9T1C3D'
 */
export function newPmhId(): string {
  const bytes = randomBytes(10);
  let bits = 0n;
  for (const b of bytes) bits = (bits << 8n) | BigInt(b);
  let out = '';
  for (let i = 0; i < 16; i++) {
    out = ALPHABET[Number(bits & 31n)] + out;
    bits >>= 5n;
  }
  return out;
}
