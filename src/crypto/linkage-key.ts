import {
  createDecipheriv,
  createHash,
  createPublicKey,
  diffieHellman,
  hkdfSync,
  type KeyObject,
} from 'node:crypto';
import { CompactEncrypt } from 'jose';

/** The claims inside a PMH連携キー (linkage key): card serial, PMH-ID, a nonce and its lifetime. */
export interface LinkageKeyClaims {
  /** 電子証明書シリアル番号 of the My Number card used at the terminal. */
  cardSerial: string;
  pmhId: string;
  /** Nonce: the key is good for one lookup only (the hub records it as used). */
  jti: string;
  /** Issued and expiry times, seconds since the epoch. */
  iat: number;
  exp: number;
}

/** A symmetric key both systems derived from their X25519 key pairs, named by `kid`. */
export interface AgreedKey {
  kid: string;
  key: Uint8Array;
}

/** Why a linkage key was refused. */
export type LinkageKeyRefusal = 'malformed' | 'unknown-key' | 'tampered' | 'expired' | 'not-yet-valid';

const TYP = 'pmh-linkage-key+jwe';
const MAX_LIFETIME_S = 600;

function rawPublic(key: KeyObject): Buffer {
  return Buffer.from(key.export({ format: 'der', type: 'spki' }));
}

/**
 * Agrees a key between the online eligibility system and the hub: X25519 between one's
 * private and the other's public key, then HKDF-SHA-256 bound to both public keys and an
 * epoch (rotate by publishing a new epoch; the hub keeps the keys of the epochs it accepts).
 * Both sides compute the same `kid` and key. One X25519 per epoch, not per request: a
 * per-request public-key operation would cap lookups far below the target (RSA-OAEP decryption runs ≈ 4,600/s per core).
 *
 * @example
 * const k = agreeLinkageKey(eligibilityPrivate, hubPublic, '2026-11');
 */
export function agreeLinkageKey(ourPrivate: KeyObject, theirPublic: KeyObject, epoch: string): AgreedKey {
  const shared = diffieHellman({ privateKey: ourPrivate, publicKey: theirPublic });
  const pubs = [rawPublic(createPublicKey(ourPrivate)), rawPublic(theirPublic)].sort(Buffer.compare);
  const salt = createHash('sha256')
    .update(pubs[0] as Buffer)
    .update(pubs[1] as Buffer)
    .digest();
  const key = new Uint8Array(hkdfSync('sha256', shared, salt, `pmh-linkage-key:v1:${epoch}`, 32));
  return { kid: `${epoch}.${salt.subarray(0, 8).toString('hex')}`, key };
}

/**
 * Seals claims as a compact JWE (`alg: dir`, `enc: A256GCM`, `kid`): only a holder of the
 * agreed key can read it, and any change is detected.
 *
 * @example
 * const token = await sealLinkageKey(k, { cardSerial, pmhId, jti, iat, exp });
 */
export async function sealLinkageKey(agreed: AgreedKey, claims: LinkageKeyClaims): Promise<string> {
  return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: agreed.kid, typ: TYP })
    .encrypt(agreed.key);
}

/** Decodes base64url only when it is the one canonical spelling of its bytes (no slack bits). */
function canonical(segment: string): Buffer | undefined {
  const bytes = Buffer.from(segment, 'base64url');
  return bytes.toString('base64url') === segment ? bytes : undefined;
}

/**
 * Opens a linkage key with the key its `kid` names, checking its lifetime. Single use is
 * the caller's to enforce (durably), with `claims.jti`.
 *
 * @example
 * const r = await openLinkageKey(keys, token, new Date());
 */
export async function openLinkageKey(
  keys: ReadonlyMap<string, AgreedKey>,
  token: string,
  now: Date,
): Promise<{ ok: true; claims: LinkageKeyClaims } | { ok: false; reason: LinkageKeyRefusal }> {
  const parts = token.split('.');
  if (parts.length !== 5 || parts[1] !== '') return { ok: false, reason: 'malformed' };
  const [protectedB64 = '', , ivB64 = '', ciphertextB64 = '', tagB64 = ''] = parts;
  let header: { alg?: unknown; enc?: unknown; typ?: unknown; kid?: unknown };
  try {
    header = JSON.parse(Buffer.from(protectedB64, 'base64url').toString('utf8')) as typeof header;
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (
    header.alg !== 'dir' ||
    header.enc !== 'A256GCM' ||
    header.typ !== TYP ||
    typeof header.kid !== 'string'
  ) {
    return { ok: false, reason: 'malformed' };
  }
  const agreed = keys.get(header.kid);
  if (!agreed) return { ok: false, reason: 'unknown-key' };
  let claims: LinkageKeyClaims;
  try {
    // RFC 7516 §5.2 with `dir` and A256GCM, on node:crypto (synchronous, no WebCrypto promise per
    // request): the additional data is the ASCII of the encoded protected header.
    const iv = canonical(ivB64);
    const tag = canonical(tagB64);
    const ciphertext = canonical(ciphertextB64);
    if (!iv || !tag || !ciphertext || iv.length !== 12 || tag.length !== 16)
      return { ok: false, reason: 'tampered' };
    const decipher = createDecipheriv('aes-256-gcm', agreed.key, iv);
    decipher.setAAD(Buffer.from(protectedB64, 'ascii'));
    decipher.setAuthTag(tag);
    const plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    claims = JSON.parse(plaintext.toString('utf8')) as LinkageKeyClaims;
  } catch {
    return { ok: false, reason: 'tampered' };
  }
  if (
    typeof claims.cardSerial !== 'string' ||
    typeof claims.pmhId !== 'string' ||
    typeof claims.jti !== 'string' ||
    claims.jti.length < 16 ||
    !Number.isInteger(claims.iat) ||
    !Number.isInteger(claims.exp)
  ) {
    return { ok: false, reason: 'malformed' };
  }
  const t = Math.floor(now.getTime() / 1000);
  if (claims.exp <= t || claims.exp - claims.iat > MAX_LIFETIME_S) return { ok: false, reason: 'expired' };
  if (claims.iat > t + 60) return { ok: false, reason: 'not-yet-valid' };
  return { ok: true, claims };
}
