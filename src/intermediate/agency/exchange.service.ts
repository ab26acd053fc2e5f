import { randomUUID } from 'node:crypto';
import { and, eq, inArray, isNotNull, lt, sql } from 'drizzle-orm';
import { type Actor, AUDIT_ACTIONS, type AuditEntryInput, appendAudit } from '../../audit/index.js';
import { deriveKey, hmac, type KeyRing, openJson, sealFor, sealJson } from '../../crypto/index.js';
import { bulkInsert } from '../../db/bulk.js';
import type { Db } from '../../db/client.js';
import type { PermitListStore } from '../../permit-list/index.js';
import { agencies, type InquiryStatus, inquiries, provisionCodes, replicas } from './agency.tables.js';

/** The audit chain of the exchange: every inquiry, permit, answer, release and refusal. */
export const EXCHANGE_AUDIT_CHAIN = 'exchange';

/** One person's items as the provider's case system registers them (through the relay). */
export interface ReplicaRecord {
  myNumber: string;
  items: Record<string, string>;
}

/** What a requester gets back for an inquiry. */
export interface InquiryView {
  inquiryId: string;
  requestId: string;
  status: InquiryStatus;
  reason?: string;
  provisionPermit?: { permitId: string; entryId: string; route: { from: string; to: string } };
  /** Sealed for the requester's certificate: only the requester's private key opens it. */
  answer?: unknown;
  createdAt: string;
  completedAt?: string;
}

/** A held answer as the provider's staff see it before releasing it. */
export interface PendingRelease {
  inquiryId: string;
  requestId: string;
  requesterId: string;
  procedure: string;
  heldItems: string[];
  content: Record<string, string | null>;
  createdAt: string;
}

const CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function base32(bytes: Buffer): string {
  let out = '';
  for (const b of bytes) out += CODE_ALPHABET[b & 31];
  return out;
}

/**
 * The inter-agency exchange with the agency servers behind it (情報提供ネットワークシステム and
 * 中間サーバー, seed Ⅱ.5, Ⅲ.6): provision codes per agency, replicas registered through the relay,
 * inquiries checked against the permit list, automatic answers sealed for the requester, and a
 * release queue for items flagged 自動応答不可.
 *
 * @example
 * const exchange = new ExchangeService({ db, keyRing, permitList, clock, master });
 */
export class ExchangeService {
  readonly #personKey: Buffer;
  readonly #codeKey: Buffer;

  constructor(
    private readonly deps: {
      db: Db;
      keyRing: KeyRing;
      permitList: PermitListStore;
      clock: () => Date;
      master: Buffer;
      /** Four-eyes: a held answer is released only when two different operators approve it. */
      fourEyes?: boolean;
    },
  ) {
    this.#personKey = deriveKey(deps.master, 'exchange-person:v1');
    this.#codeKey = deriveKey(deps.master, 'provision-code:v1');
  }

  #code(agencyId: string, personDigest: Buffer): string {
    return base32(hmac(deriveKey(this.#codeKey, agencyId), personDigest, 16));
  }

  /** Registers (or replaces) an agency and the certificate its answers are sealed for. */
  async registerAgency(agency: { agencyId: string; name: string; certPem: string }): Promise<void> {
    await this.deps.db
      .insert(agencies)
      .values({ ...agency, registeredAt: this.deps.clock() })
      .onConflictDoUpdate({ target: agencies.agencyId, set: { name: agency.name, certPem: agency.certPem } });
  }

  /**
   * Issues (or finds) an agency's provision code (符号) for a person. Codes of two agencies for
   * the same person share nothing a third party could join on.
   */
  async provisionCode(agencyId: string, myNumber: string): Promise<string> {
    const personDigest = hmac(this.#personKey, myNumber);
    const code = this.#code(agencyId, personDigest);
    await this.deps.db.insert(provisionCodes).values({ agencyId, code, personDigest }).onConflictDoNothing();
    return code;
  }

  /**
   * Stores replicas (副本) for the provider, sealed with its key; called by the relay only.
   * Returns how many people were stored.
   */
  async storeReplicas(
    providerId: string,
    records: readonly ReplicaRecord[],
    actor: Actor,
    requestId: string,
  ): Promise<number> {
    const { dataKey } = await this.deps.keyRing.forScope(`agency:${providerId}`);
    const now = this.deps.clock();
    const rows: object[] = [];
    for (const r of records) {
      const code = await this.provisionCode(providerId, r.myNumber);
      for (const [itemCode, value] of Object.entries(r.items)) {
        rows.push({
          provider_id: providerId,
          code,
          item_code: itemCode,
          sealed: sealJson(dataKey, value, `replica:${providerId}:${code}:${itemCode}`),
          updated_at: now,
        });
      }
    }
    await this.deps.db.transaction(async (tx) => {
      await bulkInsert(
        tx,
        'agency.replicas',
        { provider_id: 'text', code: 'text', item_code: 'text', sealed: 'bytea', updated_at: 'timestamptz' },
        rows,
        {
          onConflict:
            '(provider_id, code, item_code) do update set sealed = excluded.sealed, updated_at = excluded.updated_at',
        },
      );
      await appendAudit(
        tx,
        EXCHANGE_AUDIT_CHAIN,
        [
          {
            actor,
            action: AUDIT_ACTIONS.replicasRegistered,
            requestId,
            detail: { providerId, people: records.length, items: rows.length },
          },
        ],
        now,
      );
    });
    return records.length;
  }

  async #audit(tx: Db, entries: AuditEntryInput[]): Promise<void> {
    await appendAudit(tx, EXCHANGE_AUDIT_CHAIN, entries, this.deps.clock());
  }

  /**
   * The provider's values of the asked items for one person, null where it holds none. A code
   * that names nobody at this provider answers the same way (every item null), so that an
   * answer never tells whether the person is known to the provider.
   */
  async #readItems(
    providerId: string,
    code: string | null,
    items: readonly string[],
  ): Promise<Record<string, string | null>> {
    if (code === null) return Object.fromEntries(items.map((item) => [item, null]));
    const { dataKey } = await this.deps.keyRing.forScope(`agency:${providerId}`);
    const rows = await this.deps.db
      .select()
      .from(replicas)
      .where(
        and(
          eq(replicas.providerId, providerId),
          eq(replicas.code, code),
          inArray(replicas.itemCode, [...items]),
        ),
      );
    const content: Record<string, string | null> = {};
    for (const item of items) content[item] = null;
    for (const r of rows)
      content[r.itemCode] = openJson<string>(
        dataKey,
        r.sealed,
        `replica:${providerId}:${code}:${r.itemCode}`,
      );
    return content;
  }

  async #sealAnswer(inquiryId: string, requesterId: string, body: unknown): Promise<string> {
    const [requester] = await this.deps.db.select().from(agencies).where(eq(agencies.agencyId, requesterId));
    if (!requester) throw new Error('requester has no registered certificate');
    return JSON.stringify(
      sealFor(requester.certPem, Buffer.from(JSON.stringify(body)), `inquiry:${inquiryId}`),
    );
  }

  /**
   * An inquiry (seed ㉓–㉕): checked against the permit list (refused with its reason, and
   * nothing sent, when the law does not allow it); permitted → a provision permit and the
   * provider's answer, automatic unless an item is flagged 自動応答不可, sealed for the requester.
   */
  async submitInquiry(
    caller: { requesterId: string; actor: Actor; requestId: string },
    input: { providerId: string; procedure: string; provisionCode: string; items: readonly string[] },
  ): Promise<InquiryView> {
    const now = this.deps.clock();
    const id = randomUUID();
    const decision = this.deps.permitList.decide({
      requester: caller.requesterId,
      provider: input.providerId,
      procedure: input.procedure,
      dataItems: input.items,
      on: now.toISOString().slice(0, 10),
    });
    const base = {
      id,
      requestId: caller.requestId,
      requesterId: caller.requesterId,
      providerId: input.providerId,
      procedure: input.procedure,
      items: JSON.stringify(input.items),
      createdAt: now,
    };
    if (!decision.permitted) {
      const reason =
        decision.reason === 'item-not-permitted'
          ? `item-not-permitted:${decision.items.join(',')}`
          : decision.reason;
      await this.deps.db.transaction(async (tx) => {
        await tx.insert(inquiries).values({ ...base, status: 'refused', reason, completedAt: now });
        await this.#audit(tx, [
          {
            actor: caller.actor,
            action: AUDIT_ACTIONS.inquiryRefused,
            requestId: caller.requestId,
            detail: {
              inquiryId: id,
              requesterId: caller.requesterId,
              providerId: input.providerId,
              procedure: input.procedure,
              reason,
            },
          },
        ]);
      });
      return this.#view({ ...base, status: 'refused', reason, completedAt: now });
    }
    const personDigest = await this.#personOf(caller.requesterId, input.provisionCode);
    const providerCode = personDigest ? this.#code(input.providerId, personDigest) : null;
    const permitId = `pp-${randomUUID()}`;
    const held = decision.autoResponseDisabledItems;
    const status: InquiryStatus = held.length > 0 ? 'awaiting-release' : 'answered';
    let answer: string | null = null;
    if (status === 'answered') {
      const content = await this.#readItems(input.providerId, providerCode, input.items);
      answer = await this.#sealAnswer(id, caller.requesterId, {
        requestId: caller.requestId,
        inquiryId: id,
        items: content,
      });
    }
    const row = {
      ...base,
      status,
      permitId,
      entryId: decision.entryId,
      providerCode,
      pendingItems: held.length ? JSON.stringify(held) : null,
      answer,
      completedAt: status === 'answered' ? now : null,
    };
    await this.deps.db.transaction(async (tx) => {
      await tx.insert(inquiries).values(row);
      await this.#audit(tx, [
        {
          actor: caller.actor,
          action: AUDIT_ACTIONS.inquiryPermitted,
          requestId: caller.requestId,
          detail: {
            inquiryId: id,
            permitId,
            entryId: decision.entryId,
            requesterId: caller.requesterId,
            providerId: input.providerId,
            procedure: input.procedure,
          },
        },
        {
          actor: { kind: 'system', id: `agency:${input.providerId}` },
          action: status === 'answered' ? AUDIT_ACTIONS.inquiryAnswered : AUDIT_ACTIONS.inquiryHeld,
          requestId: caller.requestId,
          detail: {
            inquiryId: id,
            requesterId: caller.requesterId,
            providerId: input.providerId,
            heldItems: held,
          },
        },
      ]);
    });
    return this.#view(row);
  }

  async #personOf(agencyId: string, code: string): Promise<Buffer | undefined> {
    const [row] = await this.deps.db
      .select({ personDigest: provisionCodes.personDigest })
      .from(provisionCodes)
      .where(and(eq(provisionCodes.agencyId, agencyId), eq(provisionCodes.code, code)));
    return row?.personDigest;
  }

  #view(row: {
    id: string;
    requestId: string;
    status: InquiryStatus;
    reason?: string | null;
    permitId?: string | null;
    entryId?: string | null;
    providerId: string;
    requesterId: string;
    answer?: string | null;
    createdAt: Date;
    completedAt?: Date | null;
  }): InquiryView {
    return {
      inquiryId: row.id,
      requestId: row.requestId,
      status: row.status,
      ...(row.reason ? { reason: row.reason } : {}),
      ...(row.permitId && row.entryId
        ? {
            provisionPermit: {
              permitId: row.permitId,
              entryId: row.entryId,
              route: { from: row.providerId, to: row.requesterId },
            },
          }
        : {}),
      ...(row.answer ? { answer: JSON.parse(row.answer) as unknown } : {}),
      createdAt: row.createdAt.toISOString(),
      ...(row.completedAt ? { completedAt: row.completedAt.toISOString() } : {}),
    };
  }

  /** The requester's view of its own inquiry; another agency's inquiry is not found. */
  async getInquiry(requesterId: string, inquiryId: string): Promise<InquiryView | undefined> {
    const [row] = await this.deps.db
      .select()
      .from(inquiries)
      .where(and(eq(inquiries.id, inquiryId), eq(inquiries.requesterId, requesterId)));
    return row ? this.#view(row) : undefined;
  }

  /** Answers held for the provider's staff to re-check, with their content. */
  async listPendingReleases(providerId: string): Promise<PendingRelease[]> {
    const rows = await this.deps.db
      .select()
      .from(inquiries)
      .where(and(eq(inquiries.providerId, providerId), eq(inquiries.status, 'awaiting-release')))
      .orderBy(inquiries.createdAt);
    const out: PendingRelease[] = [];
    for (const r of rows) {
      const items = JSON.parse(r.items) as string[];
      out.push({
        inquiryId: r.id,
        requestId: r.requestId,
        requesterId: r.requesterId,
        procedure: r.procedure,
        heldItems: JSON.parse(r.pendingItems ?? '[]') as string[],
        content: await this.#readItems(providerId, r.providerCode, items),
        createdAt: r.createdAt.toISOString(),
      });
    }
    return out;
  }

  /**
   * A staff member of the provider releases (the answer is sealed for the requester and
   * delivered) or refuses a held answer; the operator is kept on the record and in the audit.
   */
  async decideRelease(
    providerId: string,
    inquiryId: string,
    decision:
      | { release: true; operator: string; actor: Actor }
      | { release: false; operator: string; actor: Actor; reason: string },
  ): Promise<InquiryView | undefined> {
    const [row] = await this.deps.db
      .select()
      .from(inquiries)
      .where(
        and(
          eq(inquiries.id, inquiryId),
          eq(inquiries.providerId, providerId),
          eq(inquiries.status, 'awaiting-release'),
        ),
      );
    if (!row) return undefined;
    const now = this.deps.clock();
    const approvals = JSON.parse(row.approvals ?? '[]') as string[];
    if (
      decision.release &&
      this.deps.fourEyes &&
      !approvals.includes(decision.operator) &&
      approvals.length === 0
    ) {
      const next = JSON.stringify([decision.operator]);
      await this.deps.db.transaction(async (tx) => {
        await tx.update(inquiries).set({ approvals: next }).where(eq(inquiries.id, row.id));
        await this.#audit(tx, [
          {
            actor: decision.actor,
            action: AUDIT_ACTIONS.inquiryReleaseApproved,
            requestId: row.requestId,
            detail: { inquiryId: row.id, operator: decision.operator },
          },
        ]);
      });
      return this.#view(row);
    }
    if (decision.release && this.deps.fourEyes && approvals.includes(decision.operator)) {
      return { ...this.#view(row), reason: 'second-approver-required' };
    }
    let answer: string | null = null;
    if (decision.release) {
      const content = await this.#readItems(providerId, row.providerCode, JSON.parse(row.items) as string[]);
      answer = await this.#sealAnswer(row.id, row.requesterId, {
        requestId: row.requestId,
        inquiryId: row.id,
        items: content,
      });
    }
    const status: InquiryStatus = decision.release ? 'answered' : 'refused-by-provider';
    const set = {
      status,
      answer,
      decidedBy: [...approvals, decision.operator].join(','),
      completedAt: now,
      ...(decision.release ? {} : { reason: decision.reason }),
    };
    await this.deps.db.transaction(async (tx) => {
      await tx.update(inquiries).set(set).where(eq(inquiries.id, row.id));
      await this.#audit(tx, [
        {
          actor: decision.actor,
          action: decision.release ? AUDIT_ACTIONS.inquiryReleased : AUDIT_ACTIONS.inquiryRefusedByProvider,
          requestId: row.requestId,
          detail: {
            inquiryId: row.id,
            operator: decision.operator,
            ...(decision.release ? {} : { reason: decision.reason }),
          },
        },
      ]);
    });
    return this.#view({ ...row, ...set });
  }

  /** Deletes inquiries (and their answers) completed longer ago than `retentionMs` (seed Ⅲ.6). */
  async purgeResults(retentionMs: number): Promise<number> {
    const cutoff = new Date(this.deps.clock().getTime() - retentionMs);
    return this.deps.db.transaction(async (tx) => {
      const gone = await tx
        .delete(inquiries)
        .where(and(isNotNull(inquiries.completedAt), lt(inquiries.completedAt, cutoff)))
        .returning({ id: inquiries.id });
      if (gone.length) {
        await this.#audit(tx, [
          {
            actor: { kind: 'system', id: 'retention' },
            action: AUDIT_ACTIONS.inquiryResultsPurged,
            detail: { count: gone.length, before: cutoff.toISOString() },
          },
        ]);
      }
      return gone.length;
    });
  }

  /** Reconciliation (seed Ⅲ.5 risk 3): every replica of the provider, opened, to compare with the master (正本). */
  async replicaExport(
    providerId: string,
  ): Promise<{ provisionCode: string; itemCode: string; value: string; updatedAt: string }[]> {
    const { dataKey } = await this.deps.keyRing.forScope(`agency:${providerId}`);
    const rows = await this.deps.db
      .select()
      .from(replicas)
      .where(eq(replicas.providerId, providerId))
      .orderBy(replicas.code, replicas.itemCode);
    return rows.map((r) => ({
      provisionCode: r.code,
      itemCode: r.itemCode,
      value: openJson<string>(dataKey, r.sealed, `replica:${providerId}:${r.code}:${r.itemCode}`),
      updatedAt: r.updatedAt.toISOString(),
    }));
  }

  /** Provision status check list (A36): inquiries to this provider by requester, procedure and state. */
  async provisionStatus(
    providerId: string,
  ): Promise<{ requesterId: string; procedure: string; status: string; count: number }[]> {
    const rows = await this.deps.db
      .select({
        requesterId: inquiries.requesterId,
        procedure: inquiries.procedure,
        status: inquiries.status,
        count: sql<number>`count(*)::int`,
      })
      .from(inquiries)
      .where(eq(inquiries.providerId, providerId))
      .groupBy(inquiries.requesterId, inquiries.procedure, inquiries.status)
      .orderBy(inquiries.requesterId, inquiries.procedure, inquiries.status);
    return rows.map((r) => ({ ...r, count: Number(r.count) }));
  }

  /**
   * Error check list (A37): people whose replicas carry some but not all of the items a
   * procedure of the permit list provides — a replica out of step with the master.
   */
  async errorCheckList(
    providerId: string,
  ): Promise<{ provisionCode: string; procedure: string; missingItems: string[] }[]> {
    const rows = await this.deps.db
      .select({ code: replicas.code, itemCode: replicas.itemCode })
      .from(replicas)
      .where(eq(replicas.providerId, providerId));
    const byCode = new Map<string, Set<string>>();
    for (const r of rows) {
      const items = byCode.get(r.code) ?? new Set<string>();
      items.add(r.itemCode);
      byCode.set(r.code, items);
    }
    const procedures = new Map<string, Set<string>>();
    for (const e of this.deps.permitList.list().file.entries) {
      if (e.provider !== providerId) continue;
      const set = procedures.get(e.procedure.code) ?? new Set<string>();
      for (const i of e.dataItems) set.add(i.code);
      procedures.set(e.procedure.code, set);
    }
    const out: { provisionCode: string; procedure: string; missingItems: string[] }[] = [];
    for (const [code, items] of byCode) {
      for (const [procedure, expected] of procedures) {
        const present = [...expected].filter((i) => items.has(i));
        if (present.length === 0 || present.length === expected.size) continue;
        out.push({
          provisionCode: code,
          procedure,
          missingItems: [...expected].filter((i) => !items.has(i)).sort(),
        });
      }
    }
    return out.sort(
      (a, b) => a.provisionCode.localeCompare(b.provisionCode) || a.procedure.localeCompare(b.procedure),
    );
  }
}
