import { pooledRandomBytes } from '../crypto/index.js';

let lastMs = 0;
let seq = 0;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const hex = (byte: number): string => HEX[byte] as string;

/**
 * A UUID of version 7 (RFC 9562): 48 bits of Unix time in milliseconds, then 74 random bits
 * (the first 12 of them a counter within the millisecond, so ids made in one process sort in
 * the order they were made). Rows keyed by such ids are appended at the right edge of their
 * B-tree indexes instead of at random pages, as version-4 ids are: inserts dirty a handful of
 * index pages per batch, not one page per row. What it reveals is when the row was made, to the
 * millisecond; so it keys rows whose ids reach no one who should not know that: subjects and
 * entitlements (their ids go only to their own municipality, which sees `createdAt` anyway) and
 * the insurer's persons (their ids never leave its server). Not for anything that must be
 * unguessable (PMH-IDs, tokens).
 *
 * @example
 * const id = timeOrderedUuid(); // '019ad4c2-5e31-7a0c-9f3e-6b1d2c8e4a77'
 */
export function timeOrderedUuid(now = Date.now()): string {
  const r = pooledRandomBytes(10);
  if (now > lastMs) {
    lastMs = now;
    // The counter starts at a random point in its lower half, so it rarely runs out.
    seq = ((r[0] as number) << 3) | ((r[1] as number) & 0x7);
  } else if (seq < 0xfff) {
    seq++;
  } else {
    // 4,096 ids in one millisecond: borrow the next millisecond (RFC 9562 §6.2, method 1).
    lastMs++;
    seq = 0;
  }
  const ms = lastMs;
  const hi = Math.floor(ms / 0x1000000); // the upper 24 of the 48 bits
  const lo = ms % 0x1000000;
  return (
    hex((hi >>> 16) & 0xff) +
    hex((hi >>> 8) & 0xff) +
    hex(hi & 0xff) +
    hex((lo >>> 16) & 0xff) +
    '-' +
    hex((lo >>> 8) & 0xff) +
    hex(lo & 0xff) +
    '-' +
    hex(0x70 | (seq >>> 8)) +
    hex(seq & 0xff) +
    '-' +
    hex(0x80 | ((r[2] as number) & 0x3f)) +
    hex(r[3] as number) +
    '-' +
    hex(r[4] as number) +
    hex(r[5] as number) +
    hex(r[6] as number) +
    hex(r[7] as number) +
    hex(r[8] as number) +
    hex(r[9] as number)
  );
}
