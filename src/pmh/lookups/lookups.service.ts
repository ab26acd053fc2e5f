import { eq, sql } from 'drizzle-orm';
import { type Actor, AUDIT_ACTIONS, appendAudit } from '../../audit/index.js';
import {
  type AgreedKey,
  hmac,
  type KeyRing,
  type LinkageKeyRefusal,
  openJson,
  openLinkageKey,
} from '../../crypto/index.js';
import type { Db } from '../../db/client.js';
import { pseudonyms } from '../pmh.tables.js';
import { type FoundRow, LOOKUP_AUDIT_CHAIN, LookupCommitter } from './lookup-committer.js';
import type { LookupAnswer, LookupEntitlement } from './lookups.schemas.js';
import { type EntitlementFace, faceContext, READ_MODEL_SCOPE } from './read-model.js';

/**
 * Opens the read-model rows of one answer; for a clinic, marks whether it is a designated
 * institution on the date of care.
 */
function openFaces(
  dataKey: Buffer,
  rows: readonly FoundRow[],
  dateOfCare: string,
  institutionCode?: string,
): LookupEntitlement[] {
  return rows.map((r) => {
    const face = openJson<EntitlementFace>(dataKey, r.sealed, faceContext(r.entitlementId));
    if (institutionCode === undefined) return face;
    const designated = (face.designatedMedicalInstitutions ?? []).some(
      (d) =>
        d.institutionCode === institutionCode &&
        (d.validFrom === undefined || d.validFrom <= dateOfCare) &&
        (d.validTo === undefined || d.validTo >= dateOfCare),
    );
    return { ...face, isDesignatedInstitution: designated };
  });
}

/** Who asks and for which request. */
export interface LookupCaller {
  actor: Actor;
  requestId: string;
}

/** Dependencies of the lookups. */
export interface LookupDeps {
  db: Db;
  keyRing: KeyRing;
  clock: () => Date;
  /** The linkage-key keys the hub accepts now, by `kid` (rotation: several epochs at once). */
  linkageKeys: () => ReadonlyMap<string, AgreedKey>;
}

/**
 * Entitlement lookups (seed ㉘ ㉙): clinics through a one-time linkage key, residents through
 * their portal pseudonym. Both read the cross-tenant read model, which holds no 個人番号;
 * 不開示 and 閲覧停止 entitlements are never returned; the answer does not tell "no consent"
 * from "no entitlement"; every lookup is audited durably before its answer leaves.
 *
 * @example
 * const lookups = new LookupService({ db, keyRing, clock, linkageKeys: () => keys });
 */
export class LookupService {
  readonly #committer: LookupCommitter;

  constructor(private readonly deps: LookupDeps) {
    this.#committer = new LookupCommitter({ db: deps.db, clock: deps.clock });
  }

  /**
   * A clinic's lookup: opens the linkage key (refusing a malformed, tampered, expired or
   * replayed one), and answers the person's entitlements valid on the date of care, across
   * every tenant, with whether the asking institution is a designated one.
   */
  async resolveLinkageKey(
    caller: LookupCaller,
    input: { linkageKey: string; institutionCode: string; dateOfCare: string },
  ): Promise<{ ok: true; answer: LookupAnswer } | { ok: false; reason: LinkageKeyRefusal | 'replayed' }> {
    const opened = await openLinkageKey(this.deps.linkageKeys(), input.linkageKey, this.deps.clock());
    if (!opened.ok) {
      await this.#committer.commit({
        answer: () => ({
          value: undefined,
          entry: {
            actor: caller.actor,
            action: AUDIT_ACTIONS.linkageKeyRefused,
            requestId: caller.requestId,
            detail: { reason: opened.reason, institutionCode: input.institutionCode },
          },
        }),
      });
      return { ok: false, reason: opened.reason };
    }
    const { claims } = opened;
    const { dataKey } = await this.deps.keyRing.forScope(READ_MODEL_SCOPE);
    const outcome = await this.#committer.commit({
      who: { pmhId: claims.pmhId },
      dateOfCare: input.dateOfCare,
      jti: { jti: claims.jti, expiresAt: new Date(claims.exp * 1000) },
      answer: (found) => {
        const entitlements = openFaces(dataKey, found.rows, input.dateOfCare, input.institutionCode);
        return {
          value: entitlements,
          entry: {
            actor: caller.actor,
            action: AUDIT_ACTIONS.clinicLookup,
            subjectRef: claims.pmhId,
            requestId: caller.requestId,
            detail: {
              institutionCode: input.institutionCode,
              dateOfCare: input.dateOfCare,
              returned: entitlements.length,
            },
          },
        };
      },
      replayed: {
        actor: caller.actor,
        action: AUDIT_ACTIONS.linkageKeyReplayed,
        subjectRef: claims.pmhId,
        requestId: caller.requestId,
        detail: { requestId: caller.requestId },
      },
    });
    if (!outcome.ok) return { ok: false, reason: 'replayed' };
    return {
      ok: true,
      answer: {
        requestId: caller.requestId,
        dateOfCare: input.dateOfCare,
        institutionCode: input.institutionCode,
        entitlements: outcome.value,
      },
    };
  }

  /**
   * The portal's first use for a resident (seed ㉘): records (card serial, pseudonym) → PMH-ID.
   * The card serial is kept only as a keyed digest. A pseudonym already linked to another
   * person is refused.
   */
  async linkPseudonym(
    caller: LookupCaller,
    input: { cardSerial: string; pseudonym: string; pmhId: string },
  ): Promise<{ ok: true } | { ok: false; reason: 'conflict' }> {
    const { blindIndexKey } = await this.deps.keyRing.forScope(READ_MODEL_SCOPE);
    const now = this.deps.clock();
    return this.deps.db.transaction(async (tx) => {
      const inserted = await tx
        .insert(pseudonyms)
        .values({
          pseudonym: input.pseudonym,
          pmhId: input.pmhId,
          cardSerialDigest: hmac(blindIndexKey, input.cardSerial),
          createdAt: now,
        })
        .onConflictDoNothing()
        .returning({ pmhId: pseudonyms.pmhId });
      if (inserted.length === 0) {
        const [existing] = await tx
          .select()
          .from(pseudonyms)
          .where(eq(pseudonyms.pseudonym, input.pseudonym));
        if (existing?.pmhId !== input.pmhId) return { ok: false, reason: 'conflict' };
      }
      await appendAudit(
        tx,
        LOOKUP_AUDIT_CHAIN,
        [
          {
            actor: caller.actor,
            action: AUDIT_ACTIONS.portalPseudonymLinked,
            subjectRef: input.pmhId,
            requestId: caller.requestId,
          },
        ],
        now,
      );
      return { ok: true };
    });
  }

  /** A resident's own entitlements through the portal; an unknown pseudonym answers like "none". */
  async lookupByPseudonym(
    caller: LookupCaller,
    input: { pseudonym: string; dateOfCare: string },
  ): Promise<LookupAnswer> {
    const { dataKey } = await this.deps.keyRing.forScope(READ_MODEL_SCOPE);
    const outcome = await this.#committer.commit({
      who: { pseudonym: input.pseudonym },
      dateOfCare: input.dateOfCare,
      answer: (found) => {
        const entitlements = openFaces(dataKey, found.rows, input.dateOfCare);
        return {
          value: entitlements,
          entry: {
            actor: caller.actor,
            action: AUDIT_ACTIONS.portalLookup,
            subjectRef: found.pmhId,
            requestId: caller.requestId,
            detail: {
              dateOfCare: input.dateOfCare,
              returned: entitlements.length,
              known: found.pmhId !== null,
            },
          },
        };
      },
    });
    // Only a lookup with a nonce can be a replay; this one always has its answer.
    const entitlements = outcome.ok ? outcome.value : [];
    return { requestId: caller.requestId, dateOfCare: input.dateOfCare, entitlements };
  }

  /** Removes used linkage-key nonces past their expiry (they can no longer be replayed anyway). */
  async purgeExpiredKeys(): Promise<void> {
    await this.deps.db.execute(
      sql`delete from hub.used_linkage_keys where expires_at < now() - interval '1 minute'`,
    );
  }
}
