import { randomUUID } from 'node:crypto';
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { type Actor, AUDIT_ACTIONS, appendAudit } from '../../audit/index.js';
import { type KeyRing, open, sealText } from '../../crypto/index.js';
import { bulkInsert } from '../../db/bulk.js';
import { type Db, queryRows } from '../../db/client.js';
import type { Principal } from '../../identity/index.js';
import type { FieldError, RegistrationRecord } from '../../pmh/index.js';
import type { DeliveryCounts, DeliveryView, SubmissionView } from './outbox.schemas.js';
import { type DeliveryState, outboxMessages, outboxSubmissions, type SourceKind } from './outbox.tables.js';

const MESSAGE_COLUMNS = {
  tenant_code: 'text',
  business_id: 'text',
  client_id: 'text',
  source_kind: 'text',
  source_id: 'uuid',
  source_index: 'int',
  sealed: 'bytea',
  state: 'text',
  created_at: 'timestamptz',
  updated_at: 'timestamptz',
} as const;

/** Who owes the records: the tenant, business and client they came from. */
export interface OutboxOwner {
  tenantCode: string;
  businessId: string;
  clientId: string;
}

/** Records sealed and ready to be stored in the caller's transaction. */
export interface SealedItems {
  rows: Record<string, unknown>[];
}

/** The envelope context of a queued record: it can only be opened as that record. */
export function messageContext(kind: SourceKind, sourceId: string, index: number): string {
  return `outbox:${kind}:${sourceId}:${index}`;
}

type MessageRow = typeof outboxMessages.$inferSelect;

/** A stored message as the API shows it (codes only, never a value). */
export function deliveryView(m: MessageRow): DeliveryView {
  return {
    state: m.state,
    attempts: m.attempts,
    outcome: m.outcome,
    subjectId: m.subjectId,
    ...(m.errors ? { errors: JSON.parse(m.errors) as FieldError[] } : {}),
    updatedAt: m.updatedAt.toISOString(),
  };
}

/** Zero counts, filled from `state → count` rows. */
export function toDeliveryCounts(rows: readonly { state: string; n: number | string }[]): DeliveryCounts {
  const counts: DeliveryCounts = { queued: 0, sent: 0, accepted: 0, rejected: 0, givenUp: 0 };
  for (const r of rows) {
    const key = (r.state === 'given-up' ? 'givenUp' : r.state) as keyof DeliveryCounts;
    if (key in counts) counts[key] += Number(r.n);
  }
  return counts;
}

/**
 * The transactional outbox toward a remote PMH: what the case system handed over is stored,
 * sealed, in the same transaction that accepts it; {@link OutboxDispatcher} delivers it.
 *
 * @example
 * const outbox = new Outbox({ db, keyRing, clock });
 * const { submissionId } = await outbox.acceptRegistration(principal, records, requestId);
 */
export class Outbox {
  constructor(private readonly deps: { db: Db; keyRing: KeyRing; clock: () => Date }) {}

  /** Seals records for {@link Outbox.insert} (outside any transaction: keys may load). */
  async seal(
    owner: OutboxOwner,
    kind: SourceKind,
    sourceId: string,
    items: readonly { index: number; record: RegistrationRecord }[],
  ): Promise<SealedItems> {
    const { dataKey } = await this.deps.keyRing.forScope(owner.tenantCode);
    const now = this.deps.clock();
    return {
      rows: items.map((item) => ({
        tenant_code: owner.tenantCode,
        business_id: owner.businessId,
        client_id: owner.clientId,
        source_kind: kind,
        source_id: sourceId,
        source_index: item.index,
        sealed: sealText(dataKey, JSON.stringify(item.record), messageContext(kind, sourceId, item.index)),
        state: 'queued' satisfies DeliveryState,
        created_at: now,
        updated_at: now,
      })),
    };
  }

  /** Stores sealed records in the caller's transaction; a record already queued is kept as it is. */
  async insert(tx: Db, items: SealedItems): Promise<void> {
    await bulkInsert(tx, 'outbox.messages', MESSAGE_COLUMNS, items.rows, { onConflictDoNothing: true });
  }

  /** Opens a stored record (for the dispatcher). */
  async openRecord(m: Pick<MessageRow, 'tenantCode' | 'sourceKind' | 'sourceId' | 'sourceIndex' | 'sealed'>) {
    if (!m.sealed) throw new Error('record already delivered');
    const { dataKey } = await this.deps.keyRing.forScope(m.tenantCode);
    return JSON.parse(
      open(dataKey, m.sealed, messageContext(m.sourceKind, m.sourceId, m.sourceIndex)).toString('utf8'),
    ) as RegistrationRecord;
  }

  /**
   * Accepts a validated JSON registration for delivery: the submission, its records and an
   * audit entry commit together, so an accepted registration is never lost.
   */
  async acceptRegistration(
    principal: Principal,
    records: readonly RegistrationRecord[],
    requestId: string | undefined,
  ): Promise<{ submissionId: string; recordCount: number }> {
    const submissionId = randomUUID();
    const sealed = await this.seal(
      principal,
      'registration',
      submissionId,
      records.map((record, index) => ({ index, record })),
    );
    const actor: Actor = { kind: 'client', id: principal.clientId };
    const now = this.deps.clock();
    await this.deps.db.transaction(async (tx) => {
      await tx.insert(outboxSubmissions).values({
        id: submissionId,
        tenantCode: principal.tenantCode,
        businessId: principal.businessId,
        clientId: principal.clientId,
        requestId: requestId ?? null,
        recordCount: records.length,
        receivedAt: now,
      });
      await this.insert(tx, sealed);
      await appendAudit(
        tx,
        principal.tenantCode,
        [
          {
            actor,
            action: AUDIT_ACTIONS.registrationQueued,
            requestId: requestId ?? null,
            detail: { submissionId, records: records.length },
          },
        ],
        now,
      );
    });
    return { submissionId, recordCount: records.length };
  }

  /** A submission of the caller's tenant and business with each record's delivery. */
  async getSubmission(principal: Principal, submissionId: string): Promise<SubmissionView | undefined> {
    const [s] = await this.deps.db
      .select()
      .from(outboxSubmissions)
      .where(
        and(
          eq(outboxSubmissions.id, submissionId),
          eq(outboxSubmissions.tenantCode, principal.tenantCode),
          eq(outboxSubmissions.businessId, principal.businessId),
        ),
      );
    if (!s) return undefined;
    const messages = await this.deps.db
      .select()
      .from(outboxMessages)
      .where(and(eq(outboxMessages.sourceKind, 'registration'), eq(outboxMessages.sourceId, s.id)))
      .orderBy(asc(outboxMessages.sourceIndex));
    const counts = toDeliveryCounts(messages.map((m) => ({ state: m.state, n: 1 })));
    return {
      submissionId: s.id,
      receivedAt: s.receivedAt.toISOString(),
      recordCount: s.recordCount,
      counts,
      records: messages.map((m) => ({ index: m.sourceIndex, ...deliveryView(m) })),
    };
  }

  /** The latest delivery that names this subject, within the tenant and business. */
  async deliveryOfSubject(
    tenantCode: string,
    businessId: string,
    subjectId: string,
  ): Promise<DeliveryView | undefined> {
    const [m] = await this.deps.db
      .select()
      .from(outboxMessages)
      .where(
        and(
          eq(outboxMessages.subjectId, subjectId),
          eq(outboxMessages.tenantCode, tenantCode),
          eq(outboxMessages.businessId, businessId),
        ),
      )
      .orderBy(sql`${outboxMessages.id} desc`)
      .limit(1);
    return m ? deliveryView(m) : undefined;
  }

  /** The deliveries of some rows of a linkage file, by row number. */
  async deliveriesOfRows(fileId: string, rowNos: readonly number[]): Promise<Map<number, DeliveryView>> {
    if (rowNos.length === 0) return new Map();
    const rows = await this.deps.db
      .select()
      .from(outboxMessages)
      .where(
        and(
          eq(outboxMessages.sourceKind, 'linkage-file'),
          eq(outboxMessages.sourceId, fileId),
          inArray(outboxMessages.sourceIndex, [...rowNos]),
        ),
      );
    return new Map(rows.map((m) => [m.sourceIndex, deliveryView(m)]));
  }

  /** Records by delivery state, for one source or for all. */
  async counts(source?: { kind: SourceKind; id: string }): Promise<DeliveryCounts> {
    const rows = await queryRows<{ state: string; n: string }>(
      this.deps.db,
      source
        ? sql`select state, count(*) as n from outbox.messages where source_kind = ${source.kind} and source_id = ${source.id} group by state`
        : sql`select state, count(*) as n from outbox.messages group by state`,
    );
    return toDeliveryCounts(rows);
  }

  /** Records not yet answered and the age of the oldest, in seconds. */
  async backlog(): Promise<{ depth: number; oldestAgeSeconds: number | null }> {
    const [row] = await queryRows<{ depth: string; oldest: string | Date | null }>(
      this.deps.db,
      sql`select count(*) as depth, min(created_at) as oldest from outbox.messages where state in ('queued', 'sent')`,
    );
    const oldest = row?.oldest ? new Date(row.oldest) : null;
    return {
      depth: Number(row?.depth ?? 0),
      oldestAgeSeconds: oldest ? Math.max(0, (this.deps.clock().getTime() - oldest.getTime()) / 1000) : null,
    };
  }
}

/**
 * Queues given-up records again (after an operator fixed what stopped them): each given-up
 * batch is reopened as it was — same records, same idempotency key, so PMH applies a batch it
 * already took only once — its attempts restart from zero, linkage-file rows go back to
 * `queued`, and an audit entry per tenant records how many. Until then, a tenant and business
 * with given-up records sends nothing newer. Returns the count per tenant.
 *
 * @example
 * await requeueGivenUp(db, { tenantCode: '130001', operator: 'ops-suzuki' }, new Date());
 */
export async function requeueGivenUp(
  db: Db,
  options: { tenantCode?: string; operator: string },
  at: Date,
): Promise<Record<string, number>> {
  return db.transaction(async (tx) => {
    const rows = await queryRows<{
      tenant_code: string;
      source_kind: string;
      source_id: string;
      source_index: number;
      batch_id: string | null;
    }>(
      tx,
      sql`update outbox.messages
             set state = 'queued', attempts = 0, errors = null, updated_at = now()
           where state = 'given-up' and sealed is not null
             ${options.tenantCode ? sql`and tenant_code = ${options.tenantCode}` : sql``}
       returning tenant_code, source_kind, source_id, source_index, batch_id`,
    );
    const batches = [...new Set(rows.flatMap((r) => (r.batch_id ? [r.batch_id] : [])))];
    if (batches.length)
      await tx.execute(sql`
        update outbox.batches
           set state = 'open', attempts = 0, next_attempt_at = now(), lease_owner = null,
               lease_until = null, completed_at = null, last_error = null
         where id in (select jsonb_array_elements_text(${JSON.stringify(batches)}::jsonb)::uuid)`);
    const files = rows.filter((r) => r.source_kind === 'linkage-file');
    if (files.length) {
      const json = JSON.stringify(files.map((r) => ({ file_id: r.source_id, row_no: r.source_index })));
      await tx.execute(sql`
        update intake.linkage_file_rows r set outcome = 'queued', errors = null
          from jsonb_to_recordset(${json}::jsonb) as x(file_id uuid, row_no int)
         where r.file_id = x.file_id and r.row_no = x.row_no`);
      await tx.execute(sql`
        update intake.linkage_files f set queued = f.queued + c.n, given_up = f.given_up - c.n
          from (select x.file_id, count(*)::int as n
                  from jsonb_to_recordset(${json}::jsonb) as x(file_id uuid) group by x.file_id) c
         where f.id = c.file_id`);
    }
    const byTenant: Record<string, number> = {};
    for (const r of rows) byTenant[r.tenant_code] = (byTenant[r.tenant_code] ?? 0) + 1;
    for (const [tenant, n] of Object.entries(byTenant))
      await appendAudit(
        tx,
        tenant,
        [
          {
            actor: { kind: 'user', id: options.operator },
            action: AUDIT_ACTIONS.deliveryRequeued,
            detail: { records: n, batches: batches.length },
          },
        ],
        at,
      );
    return byTenant;
  });
}
