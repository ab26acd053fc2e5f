import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { AUDIT_ACTIONS, type AuditAction, type AuditEntryInput, appendAudit } from '../../audit/index.js';
import { hmac, type KeyRing, openJson, sealJson } from '../../crypto/index.js';
import { bulkInsert, bulkInsertStatement, inList } from '../../db/bulk.js';
import type { Db } from '../../db/client.js';
import { type BasicInfo, crossCheck } from './cross-check.js';
import type { NumberingAnswerItem, NumberingOutcome, NumberingRequestItem } from './insurer.schemas.js';
import { eligibilityLinks, insuredPersons, numberingRequests } from './insurer.tables.js';
import { newPmhId } from './pmh-id.js';

/** The key scope and audit chain of the insurer intermediate server. */
export const INSURER_SCOPE = 'insurer';

/** What the server holds for one insured person. */
export interface InsuredPersonInput {
  myNumber: string;
  basicFiveInfo: BasicInfo;
  bindingNumber: string;
  insurerNumber: string;
}

/** A sealed insured-person row, column names as in `insurer.insured_persons`. */
export interface InsuredRow {
  id: string;
  my_number_index: Buffer;
  sealed: Buffer;
  binding_number: string;
  insurer_number: string;
}

interface PersonSecret {
  myNumber: string;
  basicFiveInfo: BasicInfo;
}

const OUTCOME_ACTION: Record<NumberingOutcome, AuditAction> = {
  assigned: AUDIT_ACTIONS.insuredNumbered,
  existing: AUDIT_ACTIONS.insuredNumbered,
  'cross-check-failed': AUDIT_ACTIONS.insuredCrossCheckFailed,
  'not-found': AUDIT_ACTIONS.insuredNotFound,
};

const PERSON_COLUMNS = {
  id: 'uuid',
  my_number_index: 'bytea',
  sealed: 'bytea',
  binding_number: 'text',
  insurer_number: 'text',
} as const;

const context = (id: string) => `insured:${id}`;
/** The stored answer to a numbering request carries 個人番号: sealed, bound to its key. */
const answerContext = (idempotencyKey: string) => `numbering-request:${idempotencyKey}`;

/**
 * The insurers' intermediate server (医療保険者等向け中間サーバー, seed ㉗): numbers subjects
 * with a PMH-ID after cross-checking (突合) their 個人番号 and basic five items against the
 * person it holds, and answers with exactly the PMH-ID and the 個人番号 as sent (A11–A13).
 *
 * @example
 * const insurer = new InsurerService({ db, keyRing, clock });
 * const items = await insurer.requestPmhIds({ idempotencyKey: 'b1', items: [{ myNumber, basicFiveInfo }] });
 */
export class InsurerService {
  constructor(private readonly deps: { db: Db; keyRing: KeyRing; clock: () => Date }) {}

  /** Seals persons into the rows the store holds (for a bulk loader such as COPY). */
  async sealPersons(persons: readonly InsuredPersonInput[]): Promise<InsuredRow[]> {
    const { dataKey, blindIndexKey } = await this.deps.keyRing.forScope(INSURER_SCOPE);
    return persons.map((p) => {
      const id = randomUUID();
      const secret: PersonSecret = { myNumber: p.myNumber, basicFiveInfo: p.basicFiveInfo };
      return {
        id,
        my_number_index: hmac(blindIndexKey, p.myNumber),
        sealed: sealJson(dataKey, secret, context(id)),
        binding_number: p.bindingNumber,
        insurer_number: p.insurerNumber,
      };
    });
  }

  /** Loads insured persons; one already held (same 個人番号) is left as it is. Returns how many were new. */
  async load(persons: readonly InsuredPersonInput[]): Promise<number> {
    const rows = await this.sealPersons(persons);
    return this.deps.db.transaction(async (tx) => {
      const before = await tx.$count(insuredPersons);
      await bulkInsertIgnoringDuplicates(tx, rows);
      const added = (await tx.$count(insuredPersons)) - before;
      await appendAudit(
        tx,
        INSURER_SCOPE,
        [
          {
            actor: { kind: 'system', id: 'loader' },
            action: AUDIT_ACTIONS.insuredLoaded,
            detail: { offered: rows.length, added },
          },
        ],
        this.deps.clock(),
      );
      return added;
    });
  }

  /**
   * Numbers a batch: finds each person by 個人番号, cross-checks the basic five items, and
   * assigns a new PMH-ID or returns the one already assigned. A failed cross-check assigns
   * nothing. The same idempotency key returns the first answer.
   */
  async requestPmhIds(batch: {
    idempotencyKey: string;
    items: readonly NumberingRequestItem[];
  }): Promise<NumberingAnswerItem[]> {
    const { dataKey, blindIndexKey } = await this.deps.keyRing.forScope(INSURER_SCOPE);
    // The audit chain's head is locked only at the end (by appendAudit): batches of different
    // people cross-check side by side; the same person is serialised by the row lock below.
    return this.deps.db.transaction(async (tx) => {
      const [done] = await tx
        .select()
        .from(numberingRequests)
        .where(eq(numberingRequests.idempotencyKey, batch.idempotencyKey));
      if (done)
        return openJson<NumberingAnswerItem[]>(dataKey, done.sealed, answerContext(batch.idempotencyKey));

      const now = this.deps.clock();
      const indexes = batch.items.map((i) => hmac(blindIndexKey, i.myNumber));
      const rows = await tx
        .select()
        .from(insuredPersons)
        .where(inList(insuredPersons.myNumberIndex, indexes, 'bytea'))
        .orderBy(insuredPersons.id)
        .for('update');
      const byIndex = new Map(rows.map((r) => [r.myNumberIndex.toString('base64'), r]));
      const assigned: { id: string; pmh_id: string; numbered_at: string }[] = [];
      const links: { pmh_id: string; binding_number: string; created_at: Date }[] = [];
      const audit: AuditEntryInput[] = [];

      const answer = batch.items.map((item, i): NumberingAnswerItem => {
        const person = byIndex.get(indexes[i]?.toString('base64') ?? '');
        let result: NumberingAnswerItem;
        if (!person) {
          result = { myNumber: item.myNumber, pmhId: null, outcome: 'not-found' };
        } else {
          const secret = openJson<PersonSecret>(dataKey, person.sealed, context(person.id));
          const check =
            secret.myNumber === item.myNumber
              ? crossCheck(item.basicFiveInfo, secret.basicFiveInfo)
              : undefined;
          if (!check?.passed) {
            result = {
              myNumber: item.myNumber,
              pmhId: null,
              outcome: 'cross-check-failed',
              reasons: check?.reasons ?? [],
            };
          } else if (person.pmhId) {
            result = { myNumber: item.myNumber, pmhId: person.pmhId, outcome: 'existing' };
          } else {
            const pmhId = newPmhId();
            person.pmhId = pmhId;
            assigned.push({ id: person.id, pmh_id: pmhId, numbered_at: now.toISOString() });
            links.push({ pmh_id: pmhId, binding_number: person.bindingNumber, created_at: now });
            result = { myNumber: item.myNumber, pmhId, outcome: 'assigned' };
          }
        }
        audit.push({
          actor: { kind: 'system', id: 'hub' },
          action: OUTCOME_ACTION[result.outcome],
          subjectRef: person?.id ?? null,
          requestId: batch.idempotencyKey,
          detail: { outcome: result.outcome },
        });
        return result;
      });

      // The new PMH-IDs, their links and the answer in one statement.
      await tx.execute(
        sql`with numbered as (
              update insurer.insured_persons t set pmh_id = x.pmh_id, numbered_at = x.numbered_at
                from json_to_recordset(${JSON.stringify(assigned)}::json)
                     as x(id uuid, pmh_id text, numbered_at timestamptz)
               where t.id = x.id
            ), linked as (${bulkInsertStatement('insurer.eligibility_links', { pmh_id: 'text', binding_number: 'text', created_at: 'timestamptz' }, links)})
            insert into insurer.numbering_requests (idempotency_key, sealed, created_at)
            values (${batch.idempotencyKey}, ${sealJson(dataKey, answer, answerContext(batch.idempotencyKey))},
                    ${now.toISOString()}::timestamptz)`,
      );
      await appendAudit(tx, INSURER_SCOPE, audit, now);
      return answer;
    });
  }

  /** The PMH-ID linked to a 紐付番号, as handed to the online eligibility system (seed ㉗). */
  async pmhIdForBinding(bindingNumber: string): Promise<string | undefined> {
    const [link] = await this.deps.db
      .select({ pmhId: eligibilityLinks.pmhId })
      .from(eligibilityLinks)
      .where(eq(eligibilityLinks.bindingNumber, bindingNumber))
      .limit(1);
    return link?.pmhId;
  }
}

async function bulkInsertIgnoringDuplicates(tx: Db, rows: readonly object[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 5000) {
    await bulkInsert(tx, 'insurer.insured_persons', PERSON_COLUMNS, rows.slice(i, i + 5000), {
      onConflictDoNothing: true,
    });
  }
}
