import { eq, sql } from 'drizzle-orm';
import { AUDIT_ACTIONS, type AuditAction, type AuditEntryInput, appendAudit } from '../../audit/index.js';
import { hmac, type KeyRing, openJson, sealJson } from '../../crypto/index.js';
import { bulkInsert, bulkInsertStatement, inList } from '../../db/bulk.js';
import { type Db, queryRows } from '../../db/client.js';
import { timeOrderedUuid } from '../../db/ids.js';
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

/** A new PMH-ID ↔ 紐付番号 link, and the answer item it was assigned in. */
interface Link {
  pmh_id: string;
  binding_number: string;
  created_at: Date;
  index: number;
}

const LINK_COLUMNS = { pmh_id: 'text', binding_number: 'text', created_at: 'timestamptz' } as const;

/** An insured person as numbering reads it, with its PMH-ID (its link) if it has one. */
interface PersonRow {
  id: string;
  /** base64, as are the request's blind indexes when they are looked up. */
  my_number_index: string;
  /** base64 */
  sealed: string;
  binding_number: string;
  pmh_id: string | null;
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
      const id = timeOrderedUuid();
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
      // The persons with their PMH-ID (their link). Not locked: numbering never changes a
      // person's row, and a PMH-ID is assigned by inserting the link, unique per person.
      const rows = await queryRows<PersonRow>(
        tx,
        sql`select p.id, encode(p.my_number_index, 'base64') as my_number_index,
                   encode(p.sealed, 'base64') as sealed, p.binding_number, l.pmh_id
              from insurer.insured_persons p
              left join insurer.eligibility_links l on l.binding_number = p.binding_number
             where ${inList(sql`p.my_number_index`, indexes, 'bytea')}`,
      );
      const byIndex = new Map(rows.map((r) => [r.my_number_index, r]));
      const persons: (PersonRow | undefined)[] = [];
      const links: Link[] = [];

      const answer = batch.items.map((item, i): NumberingAnswerItem => {
        const person = byIndex.get(indexes[i]?.toString('base64') ?? '');
        persons.push(person);
        if (!person) return { myNumber: item.myNumber, pmhId: null, outcome: 'not-found' };
        const secret = openJson<PersonSecret>(
          dataKey,
          Buffer.from(person.sealed, 'base64'),
          context(person.id),
        );
        const check =
          secret.myNumber === item.myNumber
            ? crossCheck(item.basicFiveInfo, secret.basicFiveInfo)
            : undefined;
        if (!check?.passed) {
          return {
            myNumber: item.myNumber,
            pmhId: null,
            outcome: 'cross-check-failed',
            reasons: check?.reasons ?? [],
          };
        }
        if (person.pmh_id) return { myNumber: item.myNumber, pmhId: person.pmh_id, outcome: 'existing' };
        const pmhId = newPmhId();
        person.pmh_id = pmhId; // the same person twice in the batch gets it as `existing`
        links.push({ pmh_id: pmhId, binding_number: person.binding_number, created_at: now, index: i });
        return { myNumber: item.myNumber, pmhId, outcome: 'assigned' };
      });
      await this.#link(tx, links, answer);

      await tx.execute(
        sql`insert into insurer.numbering_requests (idempotency_key, sealed, created_at)
            values (${batch.idempotencyKey}, ${sealJson(dataKey, answer, answerContext(batch.idempotencyKey))},
                    ${now.toISOString()}::timestamptz)`,
      );
      const audit = answer.map(
        (result, i): AuditEntryInput => ({
          actor: { kind: 'system', id: 'hub' },
          action: OUTCOME_ACTION[result.outcome],
          subjectRef: persons[i]?.id ?? null,
          requestId: batch.idempotencyKey,
          detail: { outcome: result.outcome },
        }),
      );
      await appendAudit(tx, INSURER_SCOPE, audit, now);
      return answer;
    });
  }

  /**
   * Inserts the new PMH-IDs' links (in binding-number order, so two batches never wait on
   * each other's rows crosswise). A person another batch linked first — the same person sent
   * in two batches at once — is answered with that batch's PMH-ID, as `existing`.
   */
  async #link(tx: Db, links: Link[], answer: NumberingAnswerItem[]): Promise<void> {
    if (links.length === 0) return;
    links.sort((a, b) => (a.binding_number < b.binding_number ? -1 : 1));
    const inserted = await queryRows<{ binding_number: string }>(
      tx,
      sql`${bulkInsertStatement('insurer.eligibility_links', LINK_COLUMNS, links, { onConflictDoNothing: true })}
          returning binding_number`,
    );
    if (inserted.length === links.length) return;
    const done = new Set(inserted.map((r) => r.binding_number));
    const lost = links.filter((l) => !done.has(l.binding_number));
    const existing = await queryRows<{ binding_number: string; pmh_id: string }>(
      tx,
      sql`select binding_number, pmh_id from insurer.eligibility_links
           where ${inList(
             sql`binding_number`,
             lost.map((l) => l.binding_number),
             'text',
           )}`,
    );
    const byBinding = new Map(existing.map((r) => [r.binding_number, r.pmh_id]));
    for (const l of lost) {
      const pmhId = byBinding.get(l.binding_number);
      const item = answer[l.index];
      // Not linked although the insert did nothing: a PMH-ID collision; the batch is retried.
      if (!pmhId || !item) throw new Error('PMH-ID link conflict');
      answer[l.index] = { myNumber: item.myNumber, pmhId, outcome: 'existing' };
    }
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
