import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { OperatorError } from '../config/errors.js';
import { type Db, sqlState } from '../db/client.js';
import { masterKeyCheck, tenantKeys } from './crypto.tables.js';
import { deriveKey, hmac, open, seal } from './envelope.js';

/** Raised when the master key is missing, malformed, or not the one the database was made with. */
export class MasterKeyError extends OperatorError {
  override name = 'MasterKeyError';
}

/**
 * Reads the master key file (base64 of 32 bytes), or creates it with mode 0600 when absent.
 *
 * @example
 * const { key, created } = loadOrCreateMasterKey('data/master.key');
 */
export function loadOrCreateMasterKey(file: string): { key: Buffer; created: boolean } {
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true });
    const key = randomBytes(32);
    writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
    return { key, created: true };
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new MasterKeyError(
      `MASTER_KEY_FILE ${file} cannot be read (${(err as NodeJS.ErrnoException).code})`,
    );
  }
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== 32) {
    throw new MasterKeyError(`MASTER_KEY_FILE ${file} does not hold a base64-encoded 32-byte key`);
  }
  return { key, created: false };
}

/**
 * The master key for a database: read from `file`; created there only when the database holds
 * no data made with another key. A database that was initialised and a key file that is not
 * there (a mistyped MASTER_KEY_FILE, a lost file) is refused before anything is written, so a
 * wrong path does not leave a stray new key behind.
 *
 * @example
 * const { key, created } = await masterKeyFor(database.db, env.MASTER_KEY_FILE);
 */
export async function masterKeyFor(db: Db, file: string): Promise<{ key: Buffer; created: boolean }> {
  if (!existsSync(file) && (await hasKeyCheck(db)))
    throw new MasterKeyError(
      `MASTER_KEY_FILE ${file} does not exist, but this database was initialised with a master key. ` +
        'Point MASTER_KEY_FILE at that key file: a new key could not decrypt what is stored.',
    );
  return loadOrCreateMasterKey(file);
}

async function hasKeyCheck(db: Db): Promise<boolean> {
  try {
    return (await db.select({ id: masterKeyCheck.id }).from(masterKeyCheck).limit(1)).length > 0;
  } catch (err) {
    const state = sqlState(err);
    if (state === '42P01' || state === '3F000') return false; // not migrated yet: a new database
    throw err;
  }
}

/** The keys one tenant (or one service scope) uses. */
export interface ScopeKeys {
  /** AES-256-GCM data key for row envelopes and stored files. */
  dataKey: Buffer;
  /** HMAC key of the 個人番号 blind index; derived, never stored. */
  blindIndexKey: Buffer;
  /** HMAC key for change digests of records (to tell `unchanged` without decrypting). */
  digestKey: Buffer;
}

/**
 * Envelope encryption: one master key (outside the database) wraps one data key per scope
 * (a tenant's municipality code, or a service such as the insurer server).
 *
 * @example
 * const ring = await KeyRing.open(db, masterKey);
 * const { dataKey } = await ring.forScope('130001');
 */
export class KeyRing {
  readonly #cache = new Map<string, Promise<ScopeKeys>>();
  readonly #kek: Buffer;

  private constructor(
    private readonly db: Db,
    private readonly master: Buffer,
  ) {
    this.#kek = deriveKey(master, 'kek:v1');
  }

  /** Opens the ring, checking the master key against the key-check value stored on first use. */
  static async open(db: Db, master: Buffer): Promise<KeyRing> {
    const kcv = hmac(deriveKey(master, 'kcv:v1'), 'pmh-gateway key check', 16);
    await db.insert(masterKeyCheck).values({ id: 1, kcv }).onConflictDoNothing();
    const [row] = await db.select().from(masterKeyCheck).where(eq(masterKeyCheck.id, 1));
    if (!row || row.kcv.length !== kcv.length || !timingSafeEqual(row.kcv, kcv)) {
      throw new MasterKeyError(
        'The master key does not match the one this database was initialised with. ' +
          'Point MASTER_KEY_FILE at the original key file (or start with an empty database).',
      );
    }
    return new KeyRing(db, master);
  }

  /** The keys of one scope, creating and wrapping its data key on first use. */
  forScope(scope: string): Promise<ScopeKeys> {
    let keys = this.#cache.get(scope);
    if (!keys) {
      keys = this.#load(scope);
      keys.catch(() => this.#cache.delete(scope));
      this.#cache.set(scope, keys);
    }
    return keys;
  }

  async #load(scope: string): Promise<ScopeKeys> {
    const context = `tenant-key:${scope}`;
    await this.db
      .insert(tenantKeys)
      .values({ scope, wrapped: seal(this.#kek, randomBytes(32), context) })
      .onConflictDoNothing();
    const [row] = await this.db.select().from(tenantKeys).where(eq(tenantKeys.scope, scope));
    if (!row) throw new Error(`data key for ${scope} could not be created`);
    return {
      dataKey: open(this.#kek, row.wrapped, context),
      blindIndexKey: deriveKey(this.master, 'blind-index:v1', scope),
      digestKey: deriveKey(this.master, 'digest:v1', scope),
    };
  }
}
