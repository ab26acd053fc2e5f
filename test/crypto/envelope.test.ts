import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  hmac,
  KeyRing,
  MasterKeyError,
  masterKeyFor,
  open,
  SealError,
  seal,
} from '../../src/crypto/index.js';
import { runMigrations } from '../../src/db/migrate.js';
import { openTestDatabase } from '../support/harness.js';

const database = await openTestDatabase();
await runMigrations(database);

describe('seal and open', () => {
  it('round-trips any bytes under any context', () => {
    const key = randomBytes(32);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), fc.string(), (bytes, context) => {
        expect(open(key, seal(key, Buffer.from(bytes), context), context).equals(Buffer.from(bytes))).toBe(
          true,
        );
      }),
    );
  });

  it('refuses a ciphertext moved to another context, a wrong key, or a flipped bit', () => {
    const key = randomBytes(32);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 256 }), fc.nat(), (bytes, bit) => {
        const box = seal(key, Buffer.from(bytes), 'subject:130001:a');
        expect(() => open(key, box, 'subject:130001:b')).toThrow(SealError);
        expect(() => open(randomBytes(32), box, 'subject:130001:a')).toThrow(SealError);
        const flipped = Buffer.from(box);
        const i = 1 + (bit % (flipped.length - 1));
        flipped[i] = (flipped[i] ?? 0) ^ 1;
        expect(() => open(key, flipped, 'subject:130001:a')).toThrow(SealError);
      }),
    );
  });

  it('never produces the same ciphertext twice for the same plaintext', () => {
    const key = randomBytes(32);
    expect(
      seal(key, Buffer.from('123456789018'), 'c').equals(seal(key, Buffer.from('123456789018'), 'c')),
    ).toBe(false);
  });
});

describe('KeyRing', () => {
  it('gives each tenant its own data key and blind-index key, stable across openings', async () => {
    const master = randomBytes(32);
    const ring = await KeyRing.open(database.db, master);
    const a = await ring.forScope('130001');
    const b = await ring.forScope('140007');
    expect(a.dataKey.equals(b.dataKey)).toBe(false);
    expect(hmac(a.blindIndexKey, '123456789018').equals(hmac(b.blindIndexKey, '123456789018'))).toBe(false);
    const again = await (await KeyRing.open(database.db, master)).forScope('130001');
    expect(again.dataKey.equals(a.dataKey)).toBe(true);
  });

  it('refuses to open with a master key other than the one the database was made with', async () => {
    await expect(KeyRing.open(database.db, randomBytes(32))).rejects.toThrow(MasterKeyError);
  });

  it('refuses a key file that is not there for a database made with a key, and writes none', async () => {
    await KeyRing.open(database.db, randomBytes(32)).catch(() => undefined); // initialised by now
    const dir = mkdtempSync(path.join(tmpdir(), 'pmh-key-'));
    const file = path.join(dir, 'typo', 'master.key');
    await expect(masterKeyFor(database.db, file)).rejects.toThrow(
      /does not exist, but this database was initialised/,
    );
    expect(existsSync(path.dirname(file)), 'nothing was created').toBe(false);
    await expect(masterKeyFor(database.db, dir)).rejects.toThrow(/cannot be read \(EISDIR\)/);
  });
});
