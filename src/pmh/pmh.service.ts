import { setImmediate } from 'node:timers/promises';
import { z } from '@hono/zod-openapi';
import { and, eq, inArray } from 'drizzle-orm';
import {
  AUDIT_ACTIONS,
  type AuditAction,
  type AuditEntryInput,
  appendAudit,
  lockAuditChain,
} from '../audit/index.js';
import { hmac, type KeyRing } from '../crypto/index.js';
import { type Db, queryRows, sql } from '../db/client.js';
import { type FieldError, toFieldErrors } from '../validation/index.js';
import { LOOKUP_AUDIT_CHAIN } from './lookups/lookup-committer.js';
import { READ_MODEL_SCOPE, refreshReadModel, sealEntitlementFace } from './lookups/read-model.js';
import type { ChangeResult, HubCaller, PmhPort, Submission } from './pmh.port.js';
import { type PreparedRecord, PreparedSubmission, prepareRecords } from './pmh.prepare.js';
import {
  type EntitlementChange,
  type EntitlementInsert,
  type EntitlementRow,
  type EntitlementSecret,
  type SubjectChange,
  type SubjectInsert,
  SubjectRepository,
  type SubjectRow,
  type SubjectSecret,
} from './pmh.repository.js';
import {
  checkNumbersAndDates,
  type RecordOutcome,
  type RecordResult,
  type RegistrationRecord,
} from './pmh.schemas.js';
import { subjects, submissions } from './pmh.tables.js';
import {
  ACCESS_HISTORY_LIMIT,
  type AccessEntry,
  type AccessHistory,
  type ControlFlags,
  type EntitlementPatch,
  MASKED_MY_NUMBER,
  type NumberingView,
  type SubjectView,
} from './pmh.views.js';

interface SubjectState {
  id: string;
  /** The 個人番号 or basic information changed: number (and cross-check) again. */
  reNumber?: boolean;
  index?: Buffer;
  row?: SubjectRow;
  digest: Buffer;
  secret?: SubjectSecret;
  text?: string;
  /** `text` sealed for this id before the transaction, while it still holds. */
  sealed?: Buffer | undefined;
  isNew: boolean;
  dirty: boolean;
  isNotDisclosed: boolean;
  entitlementKeys: Set<string>;
}

interface EntitlementState {
  id: string;
  subjectId: string;
  digest: Buffer;
  secret?: EntitlementSecret;
  text?: string;
  /** `text` sealed for this id before the transaction, while it still holds. */
  sealed?: Buffer | undefined;
  isNew: boolean;
  dirty: boolean;
  typeId: string;
  subKey: string;
}

/** Records prepared between two turns of the event loop (small: see the intake's YIELD_EVERY). */
const PREPARE_SLICE = 50;

const OUTCOME_ACTION: Record<RecordOutcome, AuditAction> = {
  created: AUDIT_ACTIONS.entitlementCreated,
  updated: AUDIT_ACTIONS.entitlementUpdated,
  unchanged: AUDIT_ACTIONS.subjectUnchanged,
  deleted: AUDIT_ACTIONS.entitlementDeleted,
  'not-found': AUDIT_ACTIONS.entitlementNotFound,
};

const mergedEntitlement = z
  .object({
    medicalSubsidyInsurerNumber: z.string(),
    medicalSubsidyRecipientNumber: z.string(),
    validFrom: z.string(),
    validTo: z.string().optional(),
  })
  .superRefine(checkNumbersAndDates);

function entitlementErrors(secret: EntitlementSecret): FieldError[] {
  const r = mergedEntitlement.safeParse(secret);
  return r.success ? [] : toFieldErrors(r.error.issues, false);
}

/** The numbering part of a subject's view. */
export function numberingView(
  row: Pick<SubjectRow, 'numberingStatus' | 'numberingReasons' | 'numberedAt'>,
): NumberingView {
  return {
    status: row.numberingStatus,
    ...(row.numberingReasons
      ? { reasons: JSON.parse(row.numberingReasons) as NumberingView['reasons'] }
      : {}),
    ...(row.numberedAt ? { numberedAt: row.numberedAt.toISOString() } : {}),
  };
}

function entitlementKey(subjectId: string, typeId: string, subKey: string): string {
  return `${subjectId}\u0000${typeId}\u0000${subKey}`;
}

/**
 * The hub (PMH): registers, answers and changes subjects and entitlements, one tenant at a
 * time. Every change and every read of personal data is audited in the same transaction.
 *
 * @example
 * const hub = new PmhService({ db, keyRing, clock: () => new Date() });
 * const results = await hub.submit(caller, { records });
 */
export class PmhService implements PmhPort {
  constructor(private readonly deps: { db: Db; keyRing: KeyRing; clock: () => Date }) {}

  async #withRepo<T>(caller: HubCaller, fn: (repo: SubjectRepository, tx: Db) => Promise<T>): Promise<T> {
    const keys = await this.deps.keyRing.forScope(caller.tenantCode);
    return this.deps.db.transaction(async (tx) => {
      await lockAuditChain(tx, caller.tenantCode);
      return fn(new SubjectRepository(tx, caller.tenantCode, caller.businessId, keys), tx);
    });
  }

  #audit(
    caller: HubCaller,
    action: AuditAction,
    subjectRef: string | null,
    detail?: Record<string, unknown>,
  ): AuditEntryInput {
    return {
      actor: caller.actor,
      action,
      subjectRef,
      requestId: caller.requestId ?? null,
      detail: detail ?? null,
    };
  }

  /**
   * Registers, updates or deletes entitlements (seed ㉖); all records commit together or not at
   * all. The records are prepared (digests, envelopes) before the transaction, so the tenant's
   * audit lock is held only for the database work.
   */
  async submit(caller: HubCaller, submission: Submission): Promise<RecordResult[]> {
    const readKey = (await this.deps.keyRing.forScope(READ_MODEL_SCOPE)).dataKey;
    const prepared =
      submission.prepared?.for(caller.tenantCode, submission.records) ??
      (await this.#prepare(caller.tenantCode, submission.records));
    return this.#withRepo(caller, async (repo, tx) => {
      const key = submission.idempotencyKey;
      if (key) {
        const [done] = await tx
          .select()
          .from(submissions)
          .where(and(eq(submissions.tenantCode, caller.tenantCode), eq(submissions.idempotencyKey, key)));
        if (done) return JSON.parse(done.results) as RecordResult[];
      }
      const results = await this.#apply(caller, repo, tx, submission, prepared, readKey);
      if (key) {
        await tx.insert(submissions).values({
          tenantCode: caller.tenantCode,
          idempotencyKey: key,
          results: JSON.stringify(results),
          recordCount: results.length,
        });
      }
      return results;
    });
  }

  /** Prepares a submission ahead of {@link submit} (see {@link PmhPort.prepare}). */
  async prepare(caller: HubCaller, submission: Submission): Promise<Submission> {
    const items = await this.#prepare(caller.tenantCode, submission.records);
    return { ...submission, prepared: new PreparedSubmission(caller.tenantCode, submission.records, items) };
  }

  async #prepare(tenantCode: string, records: readonly RegistrationRecord[]): Promise<PreparedRecord[]> {
    const keys = await this.deps.keyRing.forScope(tenantCode);
    const prepared: PreparedRecord[] = [];
    for (let from = 0; from < records.length; from += PREPARE_SLICE) {
      // In slices, so that other work (another tenant's transaction) gets its answers meanwhile.
      if (from > 0) await setImmediate();
      prepared.push(...prepareRecords(tenantCode, keys, records.slice(from, from + PREPARE_SLICE)));
    }
    return prepared;
  }

  async #apply(
    caller: HubCaller,
    repo: SubjectRepository,
    tx: Db,
    submission: Submission,
    prepared: readonly PreparedRecord[],
    readKey: Buffer,
  ): Promise<RecordResult[]> {
    const now = this.deps.clock();
    const { blindIndexKey } = repo.keys;
    const records = submission.records;
    const indexes = prepared.map((p) => p.index);
    const distinct = new Map<string, Buffer>();
    for (const idx of indexes) distinct.set(idx.toString('base64'), idx);
    const existing = await repo.findByIndexes([...distinct.values()]);

    const byIndex = new Map<string, SubjectState>();
    const byId = new Map<string, SubjectState>();
    for (const row of existing) {
      const s: SubjectState = {
        id: row.id,
        row,
        digest: row.digest,
        isNew: false,
        dirty: false,
        isNotDisclosed: row.isNotDisclosed,
        entitlementKeys: new Set(),
      };
      byIndex.set(row.myNumberIndex.toString('base64'), s);
      byId.set(row.id, s);
    }
    const ents = new Map<string, EntitlementState>();
    for (const e of await repo.entitlementKeysOf(existing.map((s) => s.id))) {
      const k = entitlementKey(e.subjectId, e.orgSpecificCertificateTypeId, e.certificationSubKey);
      ents.set(k, {
        id: e.id,
        subjectId: e.subjectId,
        digest: e.digest,
        isNew: false,
        dirty: false,
        typeId: e.orgSpecificCertificateTypeId,
        subKey: e.certificationSubKey,
      });
      byId.get(e.subjectId)?.entitlementKeys.add(k);
    }

    const deletedEntitlements: string[] = [];
    const deletedSubjects: string[] = [];
    const results: RecordResult[] = [];
    const audit: AuditEntryInput[] = [];
    const touched = new Set<string>();

    records.forEach((record, index) => {
      const idxKey = indexes[index]?.toString('base64') ?? '';
      const subKey = record.certificationSubKey ?? '';
      let subject = byIndex.get(idxKey);
      let outcome: RecordOutcome;
      let subjectDeleted = false;
      if (record.modificationSeg === '2') {
        const k = subject && entitlementKey(subject.id, record.orgSpecificCertificateTypeId, subKey);
        const ent = k ? ents.get(k) : undefined;
        if (!subject || !k || !ent) {
          outcome = 'not-found';
        } else {
          ents.delete(k);
          subject.entitlementKeys.delete(k);
          if (!ent.isNew) deletedEntitlements.push(ent.id);
          outcome = 'deleted';
          if (subject.entitlementKeys.size === 0) {
            byIndex.delete(idxKey);
            if (!subject.isNew) deletedSubjects.push(subject.id);
            subject.isNew = false;
            subject.dirty = false;
            subjectDeleted = true;
          }
        }
      } else {
        const u = prepared[index]?.upsert;
        if (!u) throw new Error('a record was not prepared');
        const { parts, subjectText, subjectDigest } = u;
        if (!subject) {
          subject = {
            id: u.subjectId,
            reNumber: true,
            index: indexes[index],
            digest: subjectDigest,
            secret: parts.subject,
            text: subjectText,
            sealed: u.subjectSealed,
            isNew: true,
            dirty: false,
            isNotDisclosed: parts.isNotDisclosed ?? false,
            entitlementKeys: new Set(),
          };
          byIndex.set(idxKey, subject);
          byId.set(subject.id, subject);
        }
        let subjectChanged = false;
        if (!subject.digest.equals(subjectDigest)) {
          subject.reNumber = true;
          subject.digest = subjectDigest;
          subject.secret = parts.subject;
          subject.text = subjectText;
          subject.sealed = undefined;
          subject.dirty = !subject.isNew;
          subjectChanged = true;
        }
        if (parts.isNotDisclosed !== undefined && parts.isNotDisclosed !== subject.isNotDisclosed) {
          subject.isNotDisclosed = parts.isNotDisclosed;
          subject.dirty = !subject.isNew;
          subjectChanged = true;
        }
        const k = entitlementKey(subject.id, record.orgSpecificCertificateTypeId, subKey);
        const entText = u.entitlementText;
        const entDigest = u.entitlementDigest;
        const ent = ents.get(k);
        if (!ent) {
          ents.set(k, {
            id: u.entitlementId,
            subjectId: subject.id,
            digest: entDigest,
            secret: parts.entitlement,
            text: entText,
            sealed: u.entitlementSealed,
            isNew: true,
            dirty: false,
            typeId: record.orgSpecificCertificateTypeId,
            subKey,
          });
          subject.entitlementKeys.add(k);
          outcome = 'created';
        } else if (!ent.digest.equals(entDigest)) {
          ent.digest = entDigest;
          ent.secret = parts.entitlement;
          ent.text = entText;
          ent.sealed = undefined;
          ent.dirty = !ent.isNew;
          outcome = 'updated';
        } else {
          outcome = subjectChanged && !subject.isNew ? 'updated' : 'unchanged';
        }
      }
      const subjectId = subject?.id ?? null;
      if (subject?.row?.pmhId && outcome !== 'unchanged' && outcome !== 'not-found' && !subjectDeleted) {
        touched.add(subject.id);
      }
      results.push({ index, subjectId, outcome });
      const ref = submission.recordRefs?.[index];
      const detail: Record<string, unknown> = { outcome };
      if (ref) detail.ref = ref;
      if (subjectDeleted) detail.subjectDeleted = true;
      audit.push(this.#audit(caller, OUTCOME_ACTION[outcome], subjectId, detail));
    });

    const newSubjects: SubjectInsert[] = [];
    const changedSubjects: SubjectChange[] = [];
    for (const s of byIndex.values()) {
      if (s.isNew && s.secret) {
        newSubjects.push({
          id: s.id,
          my_number_index: s.index ?? hmac(blindIndexKey, s.secret.myNumber),
          sealed: s.sealed ?? repo.sealSubject(s.id, s.text ?? s.secret),
          digest: s.digest,
          is_not_disclosed: s.isNotDisclosed,
          created_at: now,
          updated_at: now,
        });
      } else if (s.dirty) {
        const secret = s.text ?? s.secret ?? (s.row ? repo.openSubject(s.row) : undefined);
        if (!secret) continue;
        changedSubjects.push({
          id: s.id,
          sealed: repo.sealSubject(s.id, secret),
          digest: s.digest,
          is_not_disclosed: s.isNotDisclosed,
          updated_at: now,
        });
      }
    }
    const newEntitlements: EntitlementInsert[] = [];
    const changedEntitlements: EntitlementChange[] = [];
    for (const e of ents.values()) {
      if (!e.secret || !(e.isNew || e.dirty)) continue;
      const forcedExpiryDate = (e.secret.forcedExpiryDate as string | undefined) ?? null;
      const change: EntitlementChange = {
        id: e.id,
        sealed: e.sealed ?? repo.sealEntitlement(e.id, e.text ?? e.secret),
        digest: e.digest,
        valid_from: e.secret.validFrom,
        valid_to: (e.secret.validTo as string | undefined) ?? null,
        forced_expiry_date: forcedExpiryDate,
        updated_at: now,
        // The read-model face as this row will stand, so numbering copies it (no opening then).
        face: sealEntitlementFace(readKey, repo.tenantCode, e.id, e.secret, now, forcedExpiryDate),
      };
      if (e.isNew) {
        newEntitlements.push({
          ...change,
          subject_id: e.subjectId,
          org_specific_certificate_type_id: e.typeId,
          certification_sub_key: e.subKey,
          created_at: now,
        });
      } else changedEntitlements.push(change);
    }
    await repo.deleteEntitlements(deletedEntitlements);
    await repo.deleteSubjects(deletedSubjects);
    await repo.updateSubjects(changedSubjects);
    const toNumber: string[] = [];
    const reNumbered: string[] = [];
    for (const s of byIndex.values()) {
      if (!s.reNumber) continue;
      toNumber.push(s.id);
      if (!s.isNew) reNumbered.push(s.id);
    }
    await repo.insertAndEnqueue({
      subjects: newSubjects,
      entitlements: newEntitlements,
      toNumber,
      reNumbered,
      now,
    });
    // The read model is refreshed from the entitlements as this batch leaves them.
    await repo.updateEntitlements(changedEntitlements);
    await refreshReadModel(tx, this.deps.keyRing, repo.tenantCode, [...touched]);
    await appendAudit(tx, repo.tenantCode, audit, now);
    return results;
  }

  #view(
    repo: SubjectRepository,
    row: SubjectRow,
    entRows: EntitlementRow[],
    showMyNumber: boolean,
  ): SubjectView {
    const secret = repo.openSubject(row);
    return {
      subjectId: row.id,
      municipalityCode: row.tenantCode,
      businessId: row.businessId,
      myNumber: showMyNumber ? secret.myNumber : MASKED_MY_NUMBER,
      ...(secret.municipalityIdentityKey === undefined
        ? {}
        : { municipalityIdentityKey: secret.municipalityIdentityKey }),
      basicFiveInfo: secret.basicFiveInfo,
      pmhId: row.pmhId,
      numbering: numberingView(row),
      isNotDisclosed: row.isNotDisclosed,
      viewingSuspended: row.viewingSuspended,
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
      entitlements: entRows
        .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id))
        .map((e) => {
          const s = repo.openEntitlement(e);
          return {
            ...(s as unknown as SubjectView['entitlements'][number]),
            entitlementId: e.id,
            orgSpecificCertificateTypeId: e.orgSpecificCertificateTypeId,
            certificationSubKey: e.certificationSubKey,
            ...(e.forcedExpiryDate ? { forcedExpiryDate: e.forcedExpiryDate } : {}),
            createdAt: e.createdAt.toISOString(),
            updatedAt: e.updatedAt.toISOString(),
          };
        }),
    };
  }

  /** Reads a subject with its entitlements; the read itself is audited (seed Ⅲ.3, A31). */
  async getSubject(
    caller: HubCaller,
    subjectId: string,
    options: { showMyNumber: boolean },
  ): Promise<SubjectView | undefined> {
    return this.#withRepo(caller, async (repo, tx) => {
      const row = await repo.findById(subjectId);
      if (!row) return undefined;
      const view = this.#view(repo, row, await repo.entitlementsOf([row.id]), options.showMyNumber);
      await appendAudit(
        tx,
        caller.tenantCode,
        [this.#audit(caller, AUDIT_ACTIONS.subjectViewed, row.id, { myNumberShown: options.showMyNumber })],
        this.deps.clock(),
      );
      return view;
    });
  }

  async #changeEntitlement(
    caller: HubCaller,
    subjectId: string,
    entitlementId: string,
    action: AuditAction,
    change: (
      secret: EntitlementSecret,
      row: EntitlementRow,
    ) => { secret: EntitlementSecret; forcedExpiryDate?: string },
  ): Promise<ChangeResult<SubjectView>> {
    return this.#withRepo(caller, async (repo, tx) => {
      const subject = await repo.findById(subjectId, true);
      if (!subject) return { ok: false, reason: 'not-found' };
      const rows = await repo.entitlementsOf([subject.id]);
      const target = rows.find((e) => e.id === entitlementId);
      if (!target) return { ok: false, reason: 'not-found' };
      const now = this.deps.clock();
      const next = change(repo.openEntitlement(target), target);
      const errors = entitlementErrors(next.secret);
      if (errors.length) return { ok: false, reason: 'invalid', errors };
      const set = {
        sealed: repo.sealEntitlement(target.id, next.secret),
        digest: hmac(repo.keys.digestKey, JSON.stringify(next.secret)),
        validFrom: next.secret.validFrom,
        validTo: (next.secret.validTo as string | undefined) ?? null,
        forcedExpiryDate: next.forcedExpiryDate ?? target.forcedExpiryDate,
        updatedAt: now,
      };
      await repo.updateEntitlement(target.id, set);
      Object.assign(target, set);
      await repo.updateSubject(subject.id, { updatedAt: now });
      await refreshReadModel(tx, this.deps.keyRing, caller.tenantCode, [subject.id]);
      await appendAudit(
        tx,
        caller.tenantCode,
        [this.#audit(caller, action, subject.id, { entitlementId })],
        now,
      );
      return { ok: true, value: this.#view(repo, { ...subject, updatedAt: now }, rows, false) };
    });
  }

  /** Changes some fields of an entitlement; the merged result must still be valid. */
  updateEntitlement(caller: HubCaller, subjectId: string, entitlementId: string, patch: EntitlementPatch) {
    return this.#changeEntitlement(
      caller,
      subjectId,
      entitlementId,
      AUDIT_ACTIONS.entitlementUpdated,
      (secret) => ({
        secret: { ...secret, ...patch },
      }),
    );
  }

  /** Sets the 強制失効日 (forced expiry date) of an entitlement. */
  expireEntitlement(caller: HubCaller, subjectId: string, entitlementId: string, forcedExpiryDate: string) {
    return this.#changeEntitlement(
      caller,
      subjectId,
      entitlementId,
      AUDIT_ACTIONS.entitlementExpired,
      (secret) => ({
        secret: { ...secret, forcedExpiryDate },
        forcedExpiryDate,
      }),
    );
  }

  /** Deletes a subject and its entitlements. Only the owning tenant reaches it (A05). */
  async deleteSubject(caller: HubCaller, subjectId: string): Promise<ChangeResult<{ subjectId: string }>> {
    return this.#withRepo(caller, async (repo, tx) => {
      const subject = await repo.findById(subjectId, true);
      if (!subject) return { ok: false, reason: 'not-found' };
      await repo.deleteSubjects([subject.id]);
      await appendAudit(
        tx,
        caller.tenantCode,
        [this.#audit(caller, AUDIT_ACTIONS.subjectDeleted, subject.id)],
        this.deps.clock(),
      );
      return { ok: true, value: { subjectId } };
    });
  }

  /** Sets 不開示 (`isNotDisclosed`) and/or 閲覧停止 (`viewingSuspended`). */
  async setControlFlags(
    caller: HubCaller,
    subjectId: string,
    flags: ControlFlags,
  ): Promise<ChangeResult<SubjectView>> {
    return this.#withRepo(caller, async (repo, tx) => {
      const subject = await repo.findById(subjectId, true);
      if (!subject) return { ok: false, reason: 'not-found' };
      const now = this.deps.clock();
      const set = {
        isNotDisclosed: flags.isNotDisclosed ?? subject.isNotDisclosed,
        viewingSuspended: flags.viewingSuspended ?? subject.viewingSuspended,
        updatedAt: now,
      };
      await repo.updateSubject(subject.id, set);
      await refreshReadModel(tx, this.deps.keyRing, caller.tenantCode, [subject.id]);
      await appendAudit(
        tx,
        caller.tenantCode,
        [this.#audit(caller, AUDIT_ACTIONS.controlFlagsSet, subject.id, { ...flags })],
        now,
      );
      return {
        ok: true,
        value: this.#view(repo, { ...subject, ...set }, await repo.entitlementsOf([subject.id]), false),
      };
    });
  }

  /**
   * A subject's access history, newest first (see {@link PmhPort.accessHistory}): its entries in
   * the tenant's chain (read along the chain's key, tenant first) and the lookups of its PMH-ID.
   * Neither chain is indexed by subject, so the cost grows with the log: this is for the
   * occasional disclosure request, not for a screen that reloads. The reads hold no lock; only
   * the audit entry of the reading takes the tenant's chain, briefly.
   */
  async accessHistory(caller: HubCaller, subjectId: string): Promise<ChangeResult<AccessHistory>> {
    // Read outside the tenant's audit lock: a long read must not hold up the tenant's registrations.
    const { db } = this.deps;
    const keys = await this.deps.keyRing.forScope(caller.tenantCode);
    const subject = await new SubjectRepository(db, caller.tenantCode, caller.businessId, keys).findById(
      subjectId,
    );
    if (!subject) return { ok: false, reason: 'not-found' };
    const read = async (chain: string, ref: string, label: AccessEntry['chain']): Promise<AccessEntry[]> =>
      (
        await queryRows<{
          at: Date | string;
          actor_kind: string;
          actor_id: string;
          action: string;
          request_id: string | null;
        }>(
          db,
          sql`select at, actor_kind, actor_id, action, request_id from audit.entries
              where tenant_code = ${chain} and subject_ref = ${ref}
              order by seq desc limit ${ACCESS_HISTORY_LIMIT + 1}`,
        )
      ).map((r) => ({
        at: new Date(r.at).toISOString(),
        chain: label,
        actorKind: r.actor_kind,
        actorId: r.actor_id,
        action: r.action,
        requestId: r.request_id,
      }));
    const entries = [
      ...(await read(caller.tenantCode, subject.id, 'municipality')),
      ...(subject.pmhId ? await read(LOOKUP_AUDIT_CHAIN, subject.pmhId, 'lookups') : []),
    ].sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
    await this.#withRepo(caller, (_repo, tx) =>
      appendAudit(
        tx,
        caller.tenantCode,
        [this.#audit(caller, AUDIT_ACTIONS.accessHistoryViewed, subject.id)],
        this.deps.clock(),
      ),
    );
    return {
      ok: true,
      value: {
        subjectId: subject.id,
        entries: entries.slice(0, ACCESS_HISTORY_LIMIT),
        truncated: entries.length > ACCESS_HISTORY_LIMIT,
      },
    };
  }

  /** Numbering states of the caller's subjects, for linkage-file row results. */
  async numberingStates(
    caller: HubCaller,
    subjectIds: readonly string[],
  ): Promise<Record<string, NumberingView>> {
    if (subjectIds.length === 0) return {};
    const rows = await this.deps.db
      .select({
        id: subjects.id,
        numberingStatus: subjects.numberingStatus,
        numberingReasons: subjects.numberingReasons,
        numberedAt: subjects.numberedAt,
      })
      .from(subjects)
      .where(
        and(
          eq(subjects.tenantCode, caller.tenantCode),
          eq(subjects.businessId, caller.businessId),
          inArray(subjects.id, [...subjectIds]),
        ),
      );
    return Object.fromEntries(rows.map((r) => [r.id, numberingView(r)]));
  }
}
