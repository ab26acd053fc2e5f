import { pooledRandomBytes } from '../../crypto/index.js';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const ID_BYTES = 10;

/** 8 characters of Crockford base32 from 40 bits (5 bytes), most significant first. */
function base32of40(b: Buffer, at: number): string {
  // 40 bits fit a double exactly.
  let n =
    (b[at] ?? 0) * 2 ** 32 +
    (b[at + 1] ?? 0) * 2 ** 24 +
    (b[at + 2] ?? 0) * 2 ** 16 +
    (b[at + 3] ?? 0) * 2 ** 8 +
    (b[at + 4] ?? 0);
  let out = '';
  for (let i = 0; i < 8; i++) {
    out = ALPHABET[n % 32] + out;
    n = Math.floor(n / 32);
  }
  return out;
}

/**
 * A new PMH-ID: 16 characters of Crockford base32 from 80 random bits — fixed length,
 * unguessable, and carrying no personal data.
 *
 * @example
 * newPmhId(); // '7QK2M0ZB4X9T1C3D'
 */
export function newPmhId(): string {
  const bytes = pooledRandomBytes(ID_BYTES);
  const id = base32of40(bytes, 0) + base32of40(bytes, 5);
  bytes.fill(0); // the pool keeps no PMH-ID's bytes
  return id;
}
