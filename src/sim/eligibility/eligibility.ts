import type { KeyObject } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import { agreeLinkageKey, sealLinkageKey } from '../../crypto/index.js';
import { ensureOk, type Requester } from '../http/index.js';

/** A simulated My Number card: certificate serial ↔ the holder's 紐付番号 at the insurers. */
export function cardSerialFor(index: number): string {
  return `C${String(index).padStart(11, '0')}`;
}

/** The 紐付番号 of the person a simulated card belongs to (the insurer registry's numbering). */
export function bindingNumberForCard(cardSerial: string): string | undefined {
  return /^C\d{11}$/.test(cardSerial) ? `B${cardSerial.slice(1)}` : undefined;
}

/** Options of the {@link EligibilitySystem}. */
export interface EligibilityOptions {
  hub: Requester;
  hubToken: string;
  insurer: Requester;
  insurerToken: string;
  privateKey: KeyObject;
  hubPublicKey: KeyObject;
  epoch: string;
  clock?: () => Date;
  keyLifetimeSeconds?: number;
}

/** What a clinic terminal shows after a lookup. */
export interface ClinicResult {
  requestId: string;
  /** The JSON answer, or the FHIR Bundle when asked for. */
  body: unknown;
  contentType: string;
}

/**
 * Plays the online eligibility system (オンライン資格確認等システム, seed ㉙): it knows
 * 紐付番号 → PMH-ID from the insurer intermediate server and card serial → 紐付番号 for the
 * simulated cards. When a resident authenticates at a clinic and consents, it builds a
 * one-time PMH連携キー, asks the hub, relays the answer and forgets the key.
 *
 * @example
 * const result = await eligibility.lookupAtClinic({ cardSerial, consent: true, institutionCode, dateOfCare });
 */
export class EligibilitySystem {
  readonly #agreed;
  readonly #clock: () => Date;

  constructor(private readonly options: EligibilityOptions) {
    this.#agreed = agreeLinkageKey(options.privateKey, options.hubPublicKey, options.epoch);
    this.#clock = options.clock ?? (() => new Date());
  }

  /** The PMH-ID of a card's holder, from the insurer's links; undefined when not numbered. */
  async pmhIdForCard(cardSerial: string): Promise<string | undefined> {
    const binding = bindingNumberForCard(cardSerial);
    if (!binding) return undefined;
    const res = await this.options.insurer(`/insurer/v1/eligibility-links/${binding}`, {
      headers: { authorization: `Bearer ${this.options.insurerToken}` },
    });
    if (res.status === 404) return undefined;
    return ((await (await ensureOk(res)).json()) as { pmhId: string }).pmhId;
  }

  /** Builds a one-time linkage key for a card holder (only after consent). */
  async issueLinkageKey(cardSerial: string, pmhId: string): Promise<string> {
    const iat = Math.floor(this.#clock().getTime() / 1000);
    return sealLinkageKey(this.#agreed, {
      cardSerial,
      pmhId,
      jti: randomBytes(16).toString('base64url'),
      iat,
      exp: iat + (this.options.keyLifetimeSeconds ?? 120),
    });
  }

  /** Sends an already issued key to the hub (used to show that a key works once only). */
  async query(
    linkageKey: string,
    input: { institutionCode: string; dateOfCare: string; fhir?: boolean; requestId?: string },
  ): Promise<Response> {
    const requestId = input.requestId ?? `clinic-${randomBytes(8).toString('hex')}`;
    return this.options.hub('/pmh/v1/linkage-key-lookups', {
      method: 'POST',
      headers: {
        authorization: `Bearer ${this.options.hubToken}`,
        'content-type': 'application/json',
        'x-request-id': requestId,
        accept: input.fhir ? 'application/fhir+json' : 'application/json',
      },
      body: JSON.stringify({
        linkageKey,
        institutionCode: input.institutionCode,
        dateOfCare: input.dateOfCare,
      }),
    });
  }

  /**
   * A clinic visit: card authentication, consent, lookup. Without consent, or for a card
   * whose holder has no PMH-ID, it answers an empty list — the same as "no entitlement".
   */
  async lookupAtClinic(input: {
    cardSerial: string;
    consent: boolean;
    institutionCode: string;
    dateOfCare: string;
    fhir?: boolean;
  }): Promise<ClinicResult> {
    const requestId = `clinic-${randomBytes(8).toString('hex')}`;
    const pmhId = input.consent ? await this.pmhIdForCard(input.cardSerial) : undefined;
    if (!pmhId) {
      return {
        requestId,
        body: {
          requestId,
          dateOfCare: input.dateOfCare,
          institutionCode: input.institutionCode,
          entitlements: [],
        },
        contentType: 'application/json',
      };
    }
    let key: string | undefined = await this.issueLinkageKey(input.cardSerial, pmhId);
    const res = await ensureOk(await this.query(key, { ...input, requestId }));
    key = undefined;
    return { requestId, body: await res.json(), contentType: res.headers.get('content-type') ?? '' };
  }
}
