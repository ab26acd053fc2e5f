import { randomBytes } from 'node:crypto';

const POOL_BYTES = 16 * 1024;
let pool = Buffer.alloc(0);
let offset = 0;

/**
 * `n` fresh random bytes (CSPRNG) from a pool drawn 16 KiB at a time: one system call for many
 * IVs or ids instead of one each. The bytes are a view of the pool; no byte is handed out twice,
 * and a used-up pool is replaced, never refilled, so a view stays as it was given.
 *
 * @example
 * const iv = pooledRandomBytes(12);
 */
export function pooledRandomBytes(n: number): Buffer {
  if (offset + n > pool.length) {
    pool = randomBytes(Math.max(POOL_BYTES, n));
    offset = 0;
  }
  const out = pool.subarray(offset, offset + n);
  offset += n;
  return out;
}
