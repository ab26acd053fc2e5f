import { createCipheriv, createDecipheriv, createHmac, hkdfSync } from 'node:crypto';
import { pooledRandomBytes } from './random.js';

const VERSION = 1;
const VERSION_BYTE = Buffer.of(VERSION);
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Raised when a sealed value fails authentication (wrong key, wrong context, or tampering). */
export class SealError extends Error {
  override name = 'SealError';
}

/**
 * Encrypts with AES-256-GCM: `version (1) | iv (12) | tag (16) | ciphertext`. The `context`
 * is authenticated but not stored, binding the ciphertext to where it belongs (tenant,
 * table, row) so it cannot be moved to another row.
 *
 * @example
 * const box = seal(key, Buffer.from('{"myNumber":"…"}'), 'subject:130001:uuid');
 */
export function seal(key: Buffer, plaintext: Buffer, context: string): Buffer {
  const iv = pooledRandomBytes(IV_BYTES); // fresh for every seal
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context));
  const body = cipher.update(plaintext);
  const tail = cipher.final(); // empty for GCM; kept so no byte could ever be dropped
  return Buffer.concat([VERSION_BYTE, iv, cipher.getAuthTag(), body, tail]);
}

/**
 * Decrypts what {@link seal} produced with the same key and context, or throws {@link SealError}.
 *
 * @example
 * const plain = open(key, box, 'subject:130001:uuid');
 */
export function open(key: Buffer, sealed: Buffer, context: string): Buffer {
  if (sealed.length < 1 + IV_BYTES + TAG_BYTES || sealed[0] !== VERSION) {
    throw new SealError('sealed value has an unknown format');
  }
  const iv = sealed.subarray(1, 1 + IV_BYTES);
  const tag = sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(sealed.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]);
  } catch {
    throw new SealError('sealed value failed authentication');
  }
}

/** Seals a JSON value (see {@link seal}). */
export function sealJson(key: Buffer, value: unknown, context: string): Buffer {
  return seal(key, Buffer.from(JSON.stringify(value)), context);
}

/** Seals text already serialised by the caller (so one `JSON.stringify` serves digest and seal). */
export function sealText(key: Buffer, text: string, context: string): Buffer {
  return seal(key, Buffer.from(text), context);
}

/** Opens a JSON value sealed with {@link sealJson}. */
export function openJson<T>(key: Buffer, sealed: Buffer, context: string): T {
  return JSON.parse(open(key, sealed, context).toString('utf8')) as T;
}

/**
 * Derives a 32-byte subkey with HKDF-SHA-256, so one master key serves several purposes
 * without any of them revealing another.
 *
 * @example
 * const kek = deriveKey(master, 'kek:v1');
 */
export function deriveKey(master: Buffer, info: string, salt = ''): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.from(salt), Buffer.from(info), 32));
}

/**
 * HMAC-SHA-256, truncated to `bytes`. The blind index of a 個人番号 is this with a key
 * that never leaves the process (an unkeyed hash of 12 digits is brute-forced in seconds).
 *
 * @example
 * const index = hmac(blindKey, '123456789018');
 */
export function hmac(key: Buffer, data: string | Buffer, bytes = 32): Buffer {
  const mac = createHmac('sha256', key).update(data).digest();
  return bytes >= 32 ? mac : mac.subarray(0, bytes);
}
