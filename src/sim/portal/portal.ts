import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ensureOk, type Requester } from '../http/index.js';

/** What the portal keeps per card: the pseudonym only — never the PMH-ID. */
export interface PortalStore {
  get(cardSerial: string): string | undefined;
  set(cardSerial: string, pseudonym: string): void;
  /** Everything it holds, for inspection (a test checks no PMH-ID is in it). */
  dump(): string;
}

/** A portal store in memory. */
export function memoryPortalStore(): PortalStore {
  const map = new Map<string, string>();
  return { get: (c) => map.get(c), set: (c, p) => void map.set(c, p), dump: () => JSON.stringify([...map]) };
}

/** A portal store in a JSON file (the CLI's, so pseudonyms survive between runs). */
export function filePortalStore(file: string): PortalStore {
  const read = (): Record<string, string> =>
    existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>) : {};
  return {
    get: (c) => read()[c],
    set: (c, p) => {
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify({ ...read(), [c]: p }, null, 2), { mode: 0o600 });
    },
    dump: () => (existsSync(file) ? readFileSync(file, 'utf8') : '{}'),
  };
}

/**
 * Plays the My Number Portal (マイナポータル, seed ㉘): on a resident's first use it gets the
 * PMH-ID from the eligibility system, makes a new random pseudonym, sends (card serial,
 * pseudonym, PMH-ID) to the hub, and then forgets the PMH-ID. Later lookups use the
 * pseudonym only.
 *
 * @example
 * const portal = new Portal({ hub, token, store, pmhIdForCard });
 * const answer = await portal.myEntitlements('C00000000012', '2025-06-01');
 */
export class Portal {
  constructor(
    private readonly options: {
      hub: Requester;
      token: string;
      store: PortalStore;
      /** The eligibility system's (紐付番号 → PMH-ID) answer for a card. */
      pmhIdForCard: (cardSerial: string) => Promise<string | undefined>;
    },
  ) {}

  /** The pseudonym of a card's holder, created and linked on first use. */
  async pseudonymFor(cardSerial: string): Promise<string | undefined> {
    const known = this.options.store.get(cardSerial);
    if (known) return known;
    let pmhId = await this.options.pmhIdForCard(cardSerial);
    if (!pmhId) return undefined;
    const pseudonym = randomBytes(24).toString('base64url');
    await ensureOk(
      await this.options.hub('/pmh/v1/portal-pseudonyms', {
        method: 'POST',
        headers: { authorization: `Bearer ${this.options.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ cardSerial, pseudonym, pmhId }),
      }),
    );
    pmhId = undefined;
    this.options.store.set(cardSerial, pseudonym);
    return pseudonym;
  }

  /** The resident's own entitlements on a date. */
  async myEntitlements(
    cardSerial: string,
    dateOfCare: string,
  ): Promise<{ entitlements: unknown[]; requestId: string }> {
    const pseudonym = await this.pseudonymFor(cardSerial);
    const unknown = `unknown-${randomBytes(18).toString('base64url')}`;
    const res = await ensureOk(
      await this.options.hub(
        `/pmh/v1/portal-pseudonyms/${pseudonym ?? unknown}/entitlements?dateOfCare=${dateOfCare}`,
        {
          headers: { authorization: `Bearer ${this.options.token}` },
        },
      ),
    );
    return (await res.json()) as { entitlements: unknown[]; requestId: string };
  }
}
