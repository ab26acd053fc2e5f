import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type AgreedKey, agreeLinkageKey } from '../crypto/index.js';

/**
 * Reads an X25519 private key (PEM), or creates one with mode 0600.
 *
 * @example
 * const hubKey = loadOrCreateX25519('data/hub-x25519.pem');
 */
export function loadOrCreateX25519(file: string): KeyObject {
  if (existsSync(file)) return createPrivateKey(readFileSync(file));
  mkdirSync(path.dirname(file), { recursive: true });
  const { privateKey } = generateKeyPairSync('x25519');
  writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  return privateKey;
}

/**
 * The linkage-key keys the hub accepts: one per (eligibility system key, epoch). Listing two
 * epochs during a rotation accepts keys made under either.
 *
 * @example
 * const keys = hubLinkageKeys(hubPrivate, [eligibilityPublic], ['1', '2']);
 */
export function hubLinkageKeys(
  hubPrivate: KeyObject,
  eligibilityPublics: readonly KeyObject[],
  epochs: readonly string[],
): Map<string, AgreedKey> {
  const keys = new Map<string, AgreedKey>();
  for (const pub of eligibilityPublics) {
    for (const epoch of epochs) {
      const agreed = agreeLinkageKey(hubPrivate, pub, epoch);
      keys.set(agreed.kid, agreed);
    }
  }
  return keys;
}

/** The files of the demo's key pairs under DATA_DIR. */
export function demoKeyFiles(dataDir: string) {
  return {
    hub: path.join(dataDir, 'hub-x25519.pem'),
    eligibility: path.join(dataDir, 'eligibility-x25519.pem'),
  };
}

export { createPublicKey };
