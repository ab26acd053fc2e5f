import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { EligibilitySystem } from '../eligibility/index.js';
import type { Requester } from '../http/index.js';
import { filePortalStore, Portal, type PortalStore } from '../portal/index.js';

/** The simulators of the demo: the online eligibility system and the My Number Portal. */
export interface DemoSimulators {
  eligibility: EligibilitySystem;
  portal: Portal;
  /** What the portal keeps (card serial → pseudonym), to tell a resident's first use. */
  portalStore: PortalStore;
}

/** Thrown when DATA_DIR lacks what the demo gateway writes on start (`npm start` with DEMO=1). */
export class DemoDataError extends Error {
  override name = 'DemoDataError';
}

function readDemoFile(file: string): string {
  if (!existsSync(file))
    throw new DemoDataError(`${file} is missing: start the demo gateway first (npm start, DEMO=1)`);
  return readFileSync(file, 'utf8');
}

function readKey(file: string): KeyObject {
  return createPrivateKey(readDemoFile(file));
}

/**
 * Builds the demo's eligibility system and portal from what the demo gateway keeps under
 * DATA_DIR: the service tokens in `demo-credentials.json`, the insurer token in
 * `insurer.token`, the X25519 keys `eligibility-x25519.pem` and `hub-x25519.pem` (the hub's
 * public key is derived from it — a demo shortcut; a real eligibility system holds only the
 * hub's public key). The portal keeps its pseudonyms in `portal-store.json`.
 *
 * @example
 * const sims = demoSimulators({ dataDir: 'data', hub: overHttp('http://127.0.0.1:3000'), insurer: overHttp('http://127.0.0.1:3001') });
 * await sims.eligibility.lookupAtClinic({ cardSerial: 'C00000000012', consent: true, institutionCode, dateOfCare });
 */
export function demoSimulators(opts: {
  dataDir: string;
  hub: Requester;
  insurer: Requester;
  /** The linkage-key epoch (the first of LINKAGE_KEY_EPOCHS); default '1'. */
  epoch?: string;
  /** The insurer token when it is given by INSURER_TOKEN rather than `insurer.token`. */
  insurerToken?: string;
}): DemoSimulators {
  const credentials = JSON.parse(readDemoFile(path.join(opts.dataDir, 'demo-credentials.json'))) as {
    services?: { eligibility?: string; portal?: string };
  };
  const eligibilityToken = credentials.services?.eligibility;
  const portalToken = credentials.services?.portal;
  if (!eligibilityToken || !portalToken)
    throw new DemoDataError(
      `${path.join(opts.dataDir, 'demo-credentials.json')} has no service tokens: restart the demo gateway (npm start)`,
    );
  const insurerToken = opts.insurerToken ?? readDemoFile(path.join(opts.dataDir, 'insurer.token')).trim();
  const eligibility = new EligibilitySystem({
    hub: opts.hub,
    hubToken: eligibilityToken,
    insurer: opts.insurer,
    insurerToken,
    privateKey: readKey(path.join(opts.dataDir, 'eligibility-x25519.pem')),
    hubPublicKey: createPublicKey(readKey(path.join(opts.dataDir, 'hub-x25519.pem'))),
    epoch: opts.epoch ?? '1',
  });
  const portalStore = filePortalStore(path.join(opts.dataDir, 'portal-store.json'));
  const portal = new Portal({
    hub: opts.hub,
    token: portalToken,
    store: portalStore,
    pmhIdForCard: (card) => eligibility.pmhIdForCard(card),
  });
  return { eligibility, portal, portalStore };
}

/** What one use of the portal showed the resident. */
export interface PortalVisit {
  /** A new pseudonym was created and linked at the hub on this use (seed ㉘). */
  firstUse: boolean;
  /** The card's holder has a pseudonym at the portal (after this use). */
  linked: boolean;
  requestId: string;
  entitlements: unknown[];
}

/**
 * A resident's use of the My Number Portal: links a pseudonym on first use, then asks for
 * the resident's own entitlements on a date.
 *
 * @example
 * const visit = await visitPortal(sims, 'C00000000012', '2025-06-01');
 */
export async function visitPortal(
  sims: { portal: Portal; portalStore: PortalStore },
  cardSerial: string,
  dateOfCare: string,
): Promise<PortalVisit> {
  const before = sims.portalStore.get(cardSerial);
  const answer = await sims.portal.myEntitlements(cardSerial, dateOfCare);
  const after = sims.portalStore.get(cardSerial);
  return {
    firstUse: !before && Boolean(after),
    linked: Boolean(after),
    requestId: answer.requestId,
    entitlements: answer.entitlements,
  };
}
