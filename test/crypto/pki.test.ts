import { createCipheriv, createPublicKey, randomBytes, X509Certificate } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import fc from 'fast-check';
import forge from 'node-forge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CertificateAndKey,
  certificateFingerprint,
  createPrivateCa,
  issueCertificate,
  openSealed,
  PkiError,
  SealError,
  type SealedForRecipient,
  sealFor,
  verifyCertificate,
} from '../../src/crypto/index.js';

const YEAR_MS = 365 * 24 * 60 * 60 * 1000;

// Every key pair once per file (~150 ms each, native RSA 2048).
const ca = createPrivateCa({ commonName: 'PMH Test Private CA' });
// Same name as the real CA, so only the signature tells them apart.
const otherCa = createPrivateCa({ commonName: 'PMH Test Private CA' });
const server = issueCertificate(ca, { commonName: 'gateway', organization: 'PMH Gateway', usage: 'server' });
const client = issueCertificate(ca, { commonName: 'insurer-130001', usage: 'client' });
const foreignClient = issueCertificate(otherCa, { commonName: 'insurer-130001', usage: 'client' });
const requester = issueCertificate(ca, { commonName: 'agency-a', organization: 'Agency A', usage: 'agency' });
const thirdParty = issueCertificate(ca, { commonName: 'agency-b', usage: 'encryption' });

function flipBit(buf: Buffer, index: number, bit: number): Buffer {
  const out = Buffer.from(buf);
  const i = index % out.length;
  out[i] = (out[i] ?? 0) ^ (1 << (bit % 8));
  return out;
}

describe('private CA and certificates', () => {
  it('verifies the CA itself and a certificate it issued, naming its subject and serial', () => {
    const self = verifyCertificate(ca.certPem, ca.certPem);
    expect(self).toMatchObject({ ok: true, commonName: 'PMH Test Private CA' });

    const verdict = verifyCertificate(ca.certPem, server.certPem);
    const x509 = new X509Certificate(server.certPem);
    expect(verdict).toEqual({
      ok: true,
      commonName: 'gateway',
      serial: x509.serialNumber.toLowerCase(),
      notAfter: new Date(x509.validTo),
    });
    expect(x509.ca).toBe(false);
    expect(new X509Certificate(ca.certPem).ca).toBe(true);
    expect(x509.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
    expect(x509.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
  });

  it('issues positive 128-bit serials that differ between certificates', () => {
    const serials = [ca, otherCa, server, client, requester].map(
      (c) => new X509Certificate(c.certPem).serialNumber,
    );
    expect(new Set(serials).size).toBe(serials.length);
    for (const s of serials) expect(s).toMatch(/^[4-7][0-9A-F]{31}$/);
  });

  it('refuses a certificate from another CA with the same name', () => {
    expect(verifyCertificate(ca.certPem, foreignClient.certPem)).toEqual({
      ok: false,
      reason: 'not-signed-by-ca',
    });
    expect(verifyCertificate(otherCa.certPem, client.certPem)).toEqual({
      ok: false,
      reason: 'not-signed-by-ca',
    });
  });

  it('refuses a leaf certificate used as if it were the CA', () => {
    const leafSigned = issueCertificate(client, { commonName: 'x', usage: 'client' });
    expect(verifyCertificate(client.certPem, leafSigned.certPem)).toEqual({
      ok: false,
      reason: 'not-signed-by-ca',
    });
  });

  it('refuses an expired certificate and one not valid yet', () => {
    const expired = issueCertificate(ca, {
      commonName: 'old',
      usage: 'client',
      validDays: 30,
      now: new Date(Date.now() - 3 * YEAR_MS),
    });
    expect(verifyCertificate(ca.certPem, expired.certPem)).toEqual({ ok: false, reason: 'expired' });
    const future = issueCertificate(ca, {
      commonName: 'soon',
      usage: 'client',
      now: new Date(Date.now() + YEAR_MS),
    });
    expect(verifyCertificate(ca.certPem, future.certPem)).toEqual({ ok: false, reason: 'not-yet-valid' });
    // A good certificate, checked long after its validDays have run out.
    expect(verifyCertificate(ca.certPem, server.certPem, new Date(Date.now() + 2 * YEAR_MS))).toEqual({
      ok: false,
      reason: 'expired',
    });
  });

  it('refuses everything once the CA itself has expired', () => {
    const shortCa = createPrivateCa({ commonName: 'short-lived', validDays: 1 });
    const leaf = issueCertificate(shortCa, { commonName: 'leaf', usage: 'client', validDays: 30 });
    expect(verifyCertificate(shortCa.certPem, leaf.certPem).ok).toBe(true);
    expect(verifyCertificate(shortCa.certPem, leaf.certPem, new Date(Date.now() + 7 * 86_400_000))).toEqual({
      ok: false,
      reason: 'expired',
    });
  });

  it('reports text that is not a certificate as malformed', () => {
    expect(verifyCertificate(ca.certPem, 'not a certificate')).toEqual({ ok: false, reason: 'malformed' });
    const truncated = `${server.certPem.slice(0, 200)}\n-----END CERTIFICATE-----\n`;
    expect(verifyCertificate(ca.certPem, truncated)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyCertificate('', server.certPem)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('fingerprints a certificate as the SHA-256 hex of its DER', () => {
    const expected = new X509Certificate(server.certPem).fingerprint256.replaceAll(':', '').toLowerCase();
    expect(certificateFingerprint(server.certPem)).toBe(expected);
    expect(certificateFingerprint(server.certPem)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives server certificates the SAN localhost and 127.0.0.1, agency ones both TLS purposes', () => {
    const s = new X509Certificate(server.certPem);
    expect(s.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1');
    expect(s.subject).toContain('O=PMH Gateway');
    expect(s.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(new X509Certificate(client.certPem).keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(new X509Certificate(client.certPem).subjectAltName).toBeUndefined();
    const agency = new X509Certificate(requester.certPem);
    expect(agency.keyUsage?.sort()).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    expect(agency.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1');
    const named = issueCertificate(ca, {
      commonName: 'gw',
      usage: 'server',
      altNames: { dns: ['gw.example.lg.jp'], ip: ['10.0.0.5', '::1'] },
    });
    expect(new X509Certificate(named.certPem).subjectAltName).toBe(
      'DNS:gw.example.lg.jp, IP Address:10.0.0.5, IP Address:0:0:0:0:0:0:0:1',
    );
  });
});

describe('mutual TLS with certificates from the private CA', () => {
  let port = 0;
  let handled = 0;
  const httpsServer = https.createServer(
    { key: server.keyPem, cert: server.certPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      handled += 1;
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      res.end(JSON.stringify({ cn: peer.subject.CN, authorized: (req.socket as TLSSocket).authorized }));
    },
  );

  beforeAll(async () => {
    await new Promise<void>((resolve) => httpsServer.listen(0, '127.0.0.1', resolve));
    port = (httpsServer.address() as AddressInfo).port;
  });
  afterAll(async () => {
    httpsServer.closeAllConnections();
    await new Promise<void>((resolve) => httpsServer.close(() => resolve()));
  });

  function get(identity: CertificateAndKey | undefined, trust = ca.certPem): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port,
          path: '/',
          ca: trust,
          ...(identity ? { cert: identity.certPem, key: identity.keyPem } : {}),
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  it('completes the handshake for a client certificate from the same CA, checking 127.0.0.1', async () => {
    expect(JSON.parse(await get(client))).toEqual({ cn: 'insurer-130001', authorized: true });
    expect(JSON.parse(await get(requester))).toEqual({ cn: 'agency-a', authorized: true });
  });

  it('refuses a client certificate from another CA, and a client without one', async () => {
    const before = handled;
    // Under TLS 1.3 a refused client sees the connection close, or the alert when it had no certificate.
    await expect(get(foreignClient)).rejects.toThrow(/socket hang up|ECONNRESET|alert/i);
    await expect(get(undefined)).rejects.toThrow(/certificate required|socket hang up|ECONNRESET/i);
    expect(handled).toBe(before);
  });

  it('lets the client refuse a server it cannot trust', async () => {
    await expect(get(client, otherCa.certPem)).rejects.toThrow(/self-signed|unable to verify|certificate/i);
  });
});

describe('sealFor and openSealed', () => {
  it('round-trips any bytes under any context for the requester only', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 * 1024 }),
        fc.string({ unit: 'binary', maxLength: 64 }),
        (bytes, context) => {
          const plain = Buffer.from(bytes);
          const box = sealFor(requester.certPem, plain, context);
          expect(box.v).toBe(1);
          expect(box.kid).toBe(certificateFingerprint(requester.certPem));
          expect(openSealed(requester.keyPem, box, context).equals(plain)).toBe(true);
          expect(openSealed(requester.keyPem, box, context, requester.certPem).equals(plain)).toBe(true);
        },
      ),
      { numRuns: 12 },
    );
  });

  it('uses a fresh key and IV for every message', () => {
    const a = sealFor(requester.certPem, Buffer.from('same'), 'ctx');
    const b = sealFor(requester.certPem, Buffer.from('same'), 'ctx');
    expect(a.encryptedKey).not.toBe(b.encryptedKey);
    expect(a.iv).not.toBe(b.iv);
    expect(a.ciphertext).not.toBe(b.ciphertext);
  });

  it("cannot be opened with a third party's key, nor claimed for its certificate", () => {
    const box = sealFor(requester.certPem, Buffer.from('answer'), 'answer:1');
    expect(() => openSealed(thirdParty.keyPem, box, 'answer:1')).toThrow(SealError);
    expect(() => openSealed(requester.keyPem, box, 'answer:1', thirdParty.certPem)).toThrow(SealError);
    // Sealed for the third party: the requester cannot read it either.
    const theirs = sealFor(thirdParty.certPem, Buffer.from('answer'), 'answer:1');
    expect(() => openSealed(requester.keyPem, theirs, 'answer:1')).toThrow(SealError);
    expect(openSealed(thirdParty.keyPem, theirs, 'answer:1').toString()).toBe('answer');
  });

  it('refuses a wrong context', () => {
    const box = sealFor(requester.certPem, Buffer.from('answer'), 'answer:1');
    expect(() => openSealed(requester.keyPem, box, 'answer:2')).toThrow(SealError);
    expect(() => openSealed(requester.keyPem, box, '')).toThrow(SealError);
    const empty = sealFor(requester.certPem, Buffer.from('answer'), '');
    expect(() => openSealed(requester.keyPem, empty, 'x')).toThrow(SealError);
  });

  it('refuses a flipped bit in any field', () => {
    const box = sealFor(requester.certPem, randomBytes(100), 'answer:1');
    const binary = ['encryptedKey', 'iv', 'tag', 'ciphertext'] as const;
    fc.assert(
      fc.property(fc.constantFrom(...binary, 'kid' as const), fc.nat(), fc.nat(), (field, index, bit) => {
        const tampered: SealedForRecipient = { ...box };
        if (field === 'kid') {
          tampered.kid = flipBit(Buffer.from(box.kid, 'hex'), index, bit).toString('hex');
        } else {
          tampered[field] = flipBit(Buffer.from(box[field], 'base64url'), index, bit).toString('base64url');
        }
        expect(() => openSealed(requester.keyPem, tampered, 'answer:1')).toThrow(SealError);
      }),
      { numRuns: 60 },
    );
    expect(() =>
      openSealed(requester.keyPem, { ...box, v: 2 } as unknown as SealedForRecipient, 'answer:1'),
    ).toThrow(SealError);
  });

  it('refuses truncated, re-spelled or missing fields', () => {
    const box = sealFor(requester.certPem, Buffer.from('answer'), 'answer:1');
    const shortTag = Buffer.from(box.tag, 'base64url').subarray(0, 12).toString('base64url');
    expect(() => openSealed(requester.keyPem, { ...box, tag: shortTag }, 'answer:1')).toThrow(SealError);
    // The last character of a 16-byte tag carries 4 unused bits: same bytes, other spelling.
    const last = box.tag.at(-1) ?? 'A';
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const respelled = `${box.tag.slice(0, -1)}${alphabet[alphabet.indexOf(last) ^ 1]}`;
    expect(Buffer.from(respelled, 'base64url').equals(Buffer.from(box.tag, 'base64url'))).toBe(true);
    expect(() => openSealed(requester.keyPem, { ...box, tag: respelled }, 'answer:1')).toThrow(SealError);
    const { iv: _iv, ...noIv } = box;
    expect(() => openSealed(requester.keyPem, noIv as SealedForRecipient, 'answer:1')).toThrow(SealError);
    expect(() => openSealed(requester.keyPem, null as unknown as SealedForRecipient, 'answer:1')).toThrow(
      SealError,
    );
  });

  it('refuses to seal for a certificate not meant for key encipherment', () => {
    expect(() => sealFor(client.certPem, Buffer.from('x'), 'ctx')).toThrow(PkiError);
    expect(() => sealFor(thirdParty.certPem, Buffer.from('x'), 'ctx')).not.toThrow();
  });

  it('interoperates with node-forge: forge opens what node:crypto sealed, and the reverse', () => {
    const sha256 = () => forge.md.sha256.create();
    const forgeKey = forge.pki.privateKeyFromPem(requester.keyPem) as forge.pki.rsa.PrivateKey;
    const box = sealFor(requester.certPem, Buffer.from('回答: 受給者証 有効'), 'answer:9');

    const aesKey = forgeKey.decrypt(
      Buffer.from(box.encryptedKey, 'base64url').toString('binary'),
      'RSA-OAEP',
      {
        md: sha256(),
        mgf1: { md: sha256() },
      },
    );
    expect(aesKey.length).toBe(32);
    const decipher = forge.cipher.createDecipher('AES-GCM', aesKey);
    decipher.start({
      iv: Buffer.from(box.iv, 'base64url').toString('binary'),
      additionalData: Buffer.from(`pmh-sealed-for:v1:${box.kid}:answer:9`).toString('binary'),
      tagLength: 128,
      tag: forge.util.createBuffer(Buffer.from(box.tag, 'base64url').toString('binary')),
    });
    decipher.update(forge.util.createBuffer(Buffer.from(box.ciphertext, 'base64url').toString('binary')));
    expect(decipher.finish()).toBe(true);
    expect(Buffer.from(decipher.output.getBytes(), 'binary').toString('utf8')).toBe('回答: 受給者証 有効');

    // The reverse: a key wrapped by forge with the certificate's public key opens natively.
    const cert = forge.pki.certificateFromPem(requester.certPem);
    const key = randomBytes(32);
    const iv = randomBytes(12);
    const wrapped = (cert.publicKey as forge.pki.rsa.PublicKey).encrypt(key.toString('binary'), 'RSA-OAEP', {
      md: sha256(),
      mgf1: { md: sha256() },
    });
    const kid = certificateFingerprint(requester.certPem);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(`pmh-sealed-for:v1:${kid}:answer:10`));
    const ciphertext = Buffer.concat([cipher.update('from forge'), cipher.final()]);
    const sealed: SealedForRecipient = {
      v: 1,
      kid,
      encryptedKey: Buffer.from(wrapped, 'binary').toString('base64url'),
      iv: iv.toString('base64url'),
      tag: cipher.getAuthTag().toString('base64url'),
      ciphertext: ciphertext.toString('base64url'),
    };
    expect(openSealed(requester.keyPem, sealed, 'answer:10', requester.certPem).toString()).toBe(
      'from forge',
    );
  });
});

describe('certificates for Japanese agency names', () => {
  it('writes a non-ASCII common name that OpenSSL reads and verification returns unchanged', () => {
    const ca = createPrivateCa({ commonName: 'demo exchange CA' });
    const cert = issueCertificate(ca, { commonName: '神奈川県 (140007)', usage: 'agency' });
    expect(() => createPublicKey(cert.certPem)).not.toThrow();
    expect(verifyCertificate(ca.certPem, cert.certPem)).toMatchObject({
      ok: true,
      commonName: '神奈川県 (140007)',
    });
    const sealed = sealFor(cert.certPem, Buffer.from('x'), 'c');
    expect(openSealed(cert.keyPem, sealed, 'c').toString()).toBe('x');
  });
});
