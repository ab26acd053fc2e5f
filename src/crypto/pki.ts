import {
  constants,
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  X509Certificate,
} from 'node:crypto';
import forge from 'node-forge';
import { SealError } from './envelope.js';

/** A certificate and its private key, both PEM (the key as PKCS#8 `PRIVATE KEY`). */
export interface CertificateAndKey {
  certPem: string;
  keyPem: string;
}

/** What a certificate is for; decides its key usage, extended key usage and default SAN. */
export type CertificateUsage = 'server' | 'client' | 'encryption' | 'agency';

export interface IssueCertificateOptions {
  commonName: string;
  organization?: string;
  /** Replaces the default SAN of server and agency certificates (DNS localhost, IP 127.0.0.1). */
  altNames?: { dns?: string[]; ip?: string[] };
  usage: CertificateUsage;
  /** Days from `now`; 365 unless given. */
  validDays?: number;
  /** The issuing clock (tests issue certificates valid in the past or the future with it). */
  now?: Date;
}

/** Why {@link verifyCertificate} refused a certificate. */
export type CertificateRefusal = 'not-signed-by-ca' | 'expired' | 'not-yet-valid' | 'malformed';

export type CertificateVerdict =
  | { ok: true; commonName: string; serial: string; notAfter: Date }
  | { ok: false; reason: CertificateRefusal };

/**
 * A message only the holder of one certificate's private key can read: a fresh AES-256-GCM
 * key per message, wrapped with RSA-OAEP-SHA-256 (MGF1-SHA-256). All strings are base64url
 * except `kid`, the lowercase hex SHA-256 fingerprint of the recipient's certificate.
 */
export interface SealedForRecipient {
  v: 1;
  kid: string;
  encryptedKey: string;
  iv: string;
  tag: string;
  ciphertext: string;
}

/** Raised when a certificate cannot be used as asked (not RSA, or not for key encipherment). */
export class PkiError extends Error {
  override name = 'PkiError';
}

const RSA_BITS = 2048;
const CA_VALID_DAYS = 3650;
const LEAF_VALID_DAYS = 365;
/** notBefore is set this far before the issuing clock, so a peer whose clock lags still accepts it. */
const BACKDATE_MS = 5 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const AES_KEY_BYTES = 32;
const KID = /^[0-9a-f]{64}$/;

/**
 * RSA 2048 through node:crypto (native, ~150 ms here) whatever `forge.options.usePureJavaScript`
 * says, then handed to forge for signing. Synchronous: it blocks the event loop while it runs.
 */
function newKeyPair(): {
  keyPem: string;
  forgeKeys: { publicKey: forge.pki.rsa.PublicKey; privateKey: forge.pki.rsa.PrivateKey };
} {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: RSA_BITS,
    publicExponent: 0x10001,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return {
    keyPem: privateKey,
    forgeKeys: {
      publicKey: forge.pki.publicKeyFromPem(publicKey) as forge.pki.rsa.PublicKey,
      privateKey: forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey,
    },
  };
}

/** 128 random bits as a positive DER INTEGER with no leading zero byte (first byte 0x40–0x7f). */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes.toString('hex');
}

/** Whole seconds: X.509 times carry no milliseconds, so what we set is what a parser reads back. */
function wholeSeconds(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}

function validity(now: Date, days: number): { notBefore: Date; notAfter: Date } {
  if (!Number.isFinite(days) || days <= 0) throw new RangeError(`validDays must be positive, got ${days}`);
  return {
    notBefore: wholeSeconds(now.getTime() - BACKDATE_MS),
    notAfter: wholeSeconds(now.getTime() + days * DAY_MS),
  };
}

/**
 * Creates the private CA: RSA 2048, self-signed with SHA-256, `basicConstraints cA` and key
 * usage `keyCertSign`, `cRLSign` (both critical), a random positive 128-bit serial.
 *
 * @example
 * const ca = createPrivateCa({ commonName: 'PMH Gateway Private CA' });
 */
export function createPrivateCa(opts: {
  commonName: string;
  validDays?: number;
  now?: Date;
}): CertificateAndKey {
  const { keyPem, forgeKeys } = newKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forgeKeys.publicKey;
  cert.serialNumber = randomSerial();
  const { notBefore, notAfter } = validity(opts.now ?? new Date(), opts.validDays ?? CA_VALID_DAYS);
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  const subject = [nameField('CN', opts.commonName)];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', critical: true, cA: true },
    { name: 'keyUsage', critical: true, keyCertSign: true, cRLSign: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(forgeKeys.privateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}

function usageExtensions(usage: CertificateUsage): object[] {
  switch (usage) {
    case 'server':
      return [
        { name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
      ];
    case 'client':
      return [
        { name: 'keyUsage', critical: true, digitalSignature: true },
        { name: 'extKeyUsage', clientAuth: true },
      ];
    case 'encryption':
      return [{ name: 'keyUsage', critical: true, keyEncipherment: true }];
    case 'agency':
      return [
        { name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
      ];
  }
}

/**
 * Issues a certificate signed by the CA (SHA-256, `cA: false`, a fresh RSA 2048 key). Key
 * usage by `usage`: server = digitalSignature + keyEncipherment, serverAuth; client =
 * digitalSignature, clientAuth; encryption = keyEncipherment only (for {@link sealFor});
 * agency = digitalSignature + keyEncipherment, serverAuth + clientAuth (mutual TLS both ways
 * and sealed answers, one certificate). Server and agency certificates get the SAN DNS
 * `localhost`, IP `127.0.0.1` unless `altNames` is given, which then replaces it.
 *
 * @example
 * const server = issueCertificate(ca, { commonName: 'gateway', usage: 'server' });
 */
export function issueCertificate(ca: CertificateAndKey, opts: IssueCertificateOptions): CertificateAndKey {
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem) as forge.pki.rsa.PrivateKey;
  const { keyPem, forgeKeys } = newKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forgeKeys.publicKey;
  cert.serialNumber = randomSerial();
  const { notBefore, notAfter } = validity(opts.now ?? new Date(), opts.validDays ?? LEAF_VALID_DAYS);
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  const subject: forge.pki.CertificateField[] = [nameField('CN', opts.commonName)];
  if (opts.organization !== undefined) subject.push(nameField('O', opts.organization));
  cert.setSubject(subject);
  cert.setIssuer(caCert.subject.attributes);

  const wantsSan = opts.usage === 'server' || opts.usage === 'agency';
  const alt = opts.altNames ?? (wantsSan ? { dns: ['localhost'], ip: ['127.0.0.1'] } : {});
  const altNames = [
    ...(alt.dns ?? []).map((value) => ({ type: 2, value })),
    ...(alt.ip ?? []).map((ip) => ({ type: 7, ip })),
  ];
  // forge's `keyIdentifier: true` would take the new certificate's own key: name the CA's.
  const caSki = caCert.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | undefined;
  const authorityKeyId = caSki?.subjectKeyIdentifier
    ? forge.util.hexToBytes(caSki.subjectKeyIdentifier)
    : caCert.generateSubjectKeyIdentifier().getBytes();
  cert.setExtensions([
    { name: 'basicConstraints', critical: true, cA: false },
    ...usageExtensions(opts.usage),
    ...(altNames.length > 0 ? [{ name: 'subjectAltName', altNames }] : []),
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: authorityKeyId },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}

/**
 * A subject field; a non-ASCII value (a Japanese agency name) is written as a UTF8String —
 * (forge encodes it); otherwise forge writes the UTF-16 string into a PrintableString OpenSSL rejects.
 */
function nameField(shortName: 'CN' | 'O', value: string): forge.pki.CertificateField {
  if (/^[\x20-\x7e]*$/.test(value)) return { shortName, value };
  return { shortName, value, valueTagClass: forge.asn1.Type.UTF8 as never };
}

function commonNameOf(cert: forge.pki.Certificate): string {
  const value = (cert.subject.getField('CN') as { value?: unknown } | null)?.value;
  if (typeof value !== 'string') return '';
  if (!/[\u0080-\u00ff]/.test(value)) return value;
  try {
    return forge.util.decodeUtf8(value);
  } catch {
    return value;
  }
}

/**
 * Checks that `certPem` was signed by the CA and is valid at `now` (the CA too). It does not
 * check key usage, host names or revocation: TLS checks the first two, nothing here the third.
 *
 * @example
 * const v = verifyCertificate(ca.certPem, peerPem);
 * if (!v.ok) throw new Error(v.reason);
 */
export function verifyCertificate(
  caPem: string,
  certPem: string,
  now: Date = new Date(),
): CertificateVerdict {
  let caCert: forge.pki.Certificate;
  let cert: forge.pki.Certificate;
  try {
    caCert = forge.pki.certificateFromPem(caPem);
    cert = forge.pki.certificateFromPem(certPem);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const constraints = caCert.getExtension('basicConstraints') as { cA?: boolean } | undefined;
  let signed = false;
  try {
    signed = constraints?.cA === true && caCert.verify(cert);
  } catch {
    signed = false; // the issuer name differs, or an unsupported signature algorithm
  }
  if (!signed) return { ok: false, reason: 'not-signed-by-ca' };
  for (const c of [cert, caCert]) {
    if (now.getTime() > c.validity.notAfter.getTime()) return { ok: false, reason: 'expired' };
    if (now.getTime() < c.validity.notBefore.getTime()) return { ok: false, reason: 'not-yet-valid' };
  }
  return {
    ok: true,
    commonName: commonNameOf(cert),
    serial: cert.serialNumber,
    notAfter: cert.validity.notAfter,
  };
}

/**
 * The lowercase hex SHA-256 of the certificate's DER: the `kid` of {@link sealFor}.
 *
 * @example
 * const kid = certificateFingerprint(agency.certPem);
 */
export function certificateFingerprint(certPem: string): string {
  return createHash('sha256').update(new X509Certificate(certPem).raw).digest('hex');
}

/** The AAD: version and recipient bound with the caller's context (kid is fixed-length hex). */
function aad(kid: string, context: string): Buffer {
  return Buffer.from(`pmh-sealed-for:v1:${kid}:${context}`, 'utf8');
}

function rsaEncryptionKey(certPem: string): KeyObject {
  const key = createPublicKey(certPem);
  if (key.asymmetricKeyType !== 'rsa') {
    throw new PkiError(`the recipient certificate has a ${key.asymmetricKeyType} key, not RSA`);
  }
  const keyUsage = forge.pki.certificateFromPem(certPem).getExtension('keyUsage') as
    | { keyEncipherment?: boolean }
    | undefined;
  if (keyUsage !== undefined && keyUsage.keyEncipherment !== true) {
    throw new PkiError(
      'the recipient certificate is not for key encipherment (issue it as encryption or agency)',
    );
  }
  return key;
}

/**
 * Encrypts `plaintext` so only the holder of the certificate's private key can read it: a
 * fresh AES-256-GCM key and IV per message, authenticated with `context` (and version and
 * kid), the key wrapped with RSA-OAEP-SHA-256. It does not verify the certificate: run
 * {@link verifyCertificate} first. It does not say who sealed: anyone with the certificate
 * can seal a message for it, so sign or authenticate the sender separately.
 *
 * @example
 * const box = sealFor(requester.certPem, Buffer.from(json), `answer:${requestId}`);
 */
export function sealFor(recipientCertPem: string, plaintext: Buffer, context: string): SealedForRecipient {
  const publicKey = rsaEncryptionKey(recipientCertPem);
  const kid = certificateFingerprint(recipientCertPem);
  const key = randomBytes(AES_KEY_BYTES);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad(kid, context));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const encryptedKey = publicEncrypt(
    { key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
    key,
  );
  key.fill(0);
  return {
    v: 1,
    kid,
    encryptedKey: encryptedKey.toString('base64url'),
    iv: iv.toString('base64url'),
    tag: cipher.getAuthTag().toString('base64url'),
    ciphertext: ciphertext.toString('base64url'),
  };
}

/** Strict base64url: anything that does not re-encode to the same text is refused. */
function fromBase64url(value: unknown, field: string): Buffer {
  if (typeof value !== 'string') throw new SealError(`sealed value has no ${field}`);
  const bytes = Buffer.from(value, 'base64url');
  if (bytes.toString('base64url') !== value) throw new SealError(`sealed value has a malformed ${field}`);
  return bytes;
}

/**
 * Opens what {@link sealFor} produced with the recipient's private key and the same context,
 * or throws {@link SealError} (wrong key, wrong context, tampering, unknown format). Given
 * the recipient's certificate too, it also refuses a `kid` that is not that certificate's.
 *
 * @example
 * const json = openSealed(ownKeyPem, box, `answer:${requestId}`, ownCertPem).toString('utf8');
 */
export function openSealed(
  recipientKeyPem: string | KeyObject,
  sealed: SealedForRecipient,
  context: string,
  recipientCertPem?: string,
): Buffer {
  const s = sealed as Partial<Record<keyof SealedForRecipient, unknown>> | null;
  if (typeof s !== 'object' || s === null || s.v !== 1 || typeof s.kid !== 'string' || !KID.test(s.kid)) {
    throw new SealError('sealed value has an unknown format');
  }
  if (recipientCertPem !== undefined && s.kid !== certificateFingerprint(recipientCertPem)) {
    throw new SealError('sealed value is for another certificate');
  }
  const encryptedKey = fromBase64url(s.encryptedKey, 'encryptedKey');
  const iv = fromBase64url(s.iv, 'iv');
  const tag = fromBase64url(s.tag, 'tag');
  const ciphertext = fromBase64url(s.ciphertext, 'ciphertext');
  // A short tag would be accepted by GCM and is forgeable: demand the full 16 bytes.
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
    throw new SealError('sealed value has an unknown format');
  }

  let privateKey: KeyObject;
  try {
    privateKey = typeof recipientKeyPem === 'string' ? createPrivateKey(recipientKeyPem) : recipientKeyPem;
  } catch {
    throw new SealError('the recipient private key cannot be read');
  }
  let key: Buffer;
  try {
    key = privateDecrypt(
      { key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      encryptedKey,
    );
  } catch {
    throw new SealError('sealed value failed authentication');
  }
  if (key.length !== AES_KEY_BYTES) throw new SealError('sealed value failed authentication');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad(s.kid, context));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    throw new SealError('sealed value failed authentication');
  } finally {
    key.fill(0);
  }
}
