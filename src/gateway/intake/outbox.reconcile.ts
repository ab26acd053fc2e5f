import { sql } from 'drizzle-orm';
import { type Db, queryRows } from '../../db/client.js';
import { formatCsvRow } from './csv.js';

/** The columns of the reconciliation CSV. */
export const RECONCILE_COLUMNS = [
  'source',
  'source_id',
  'index',
  'municipality_code',
  'business_id',
  'received_at',
  'delivery',
  'outcome',
  'subject_id',
  'at_pmh',
  'difference',
] as const;

/**
 * What a line of the reconciliation says is wrong (empty when nothing is):
 * - `not-delivered`: stored, still waiting for PMH (queued or sent);
 * - `given-up`: delivery retries exhausted; the record is kept sealed for a resend;
 * - `rejected-by-pmh`: PMH refused it (its reason codes are in getLinkageFile / getSubmission);
 * - `missing-at-pmh`: PMH accepted it but does not hold the subject now;
 * - `still-at-pmh`: PMH deleted it by our request but still holds the subject;
 * - `unreadable-at-pmh`: PMH could not be read for this subject.
 */
export type Difference =
  | ''
  | 'not-delivered'
  | 'given-up'
  | 'rejected-by-pmh'
  | 'missing-at-pmh'
  | 'still-at-pmh'
  | 'unreadable-at-pmh';

/** Reads a subject at PMH (the remote client, rate-limited by the caller). */
export type RemoteProbe = (
  tenantCode: string,
  businessId: string,
  subjectId: string,
) => Promise<'present' | 'absent' | 'unreadable'>;

interface Line {
  id: number;
  source_kind: string;
  source_id: string;
  source_index: number;
  tenant_code: string;
  business_id: string;
  created_at: string | Date;
  state: string;
  outcome: string | null;
  subject_id: string | null;
  superseded: boolean;
}

/**
 * Compares what the case system sent (every record the gateway accepted for PMH), what was
 * delivered (PMH's answer per record) and, with `probe`, what PMH holds now. Yields the CSV
 * header, then one line per difference (or per record with `all`), in the order received.
 * Only a subject's latest accepted record is checked at PMH (`at_pmh` = `superseded` for the
 * others). Reads in pages, so it runs over any volume in constant memory.
 *
 * @example
 * for await (const line of reconcile(db, { tenantCode: '130001', probe })) process.stdout.write(line);
 */
export async function* reconcile(
  db: Db,
  options: { tenantCode?: string; since?: Date; all?: boolean; probe?: RemoteProbe; pageSize?: number } = {},
): AsyncGenerator<string> {
  yield `${formatCsvRow(RECONCILE_COLUMNS)}\r\n`;
  const pageSize = options.pageSize ?? 1000;
  let after = 0;
  for (;;) {
    const page = await queryRows<Line>(
      db,
      sql`select m.id, m.source_kind, m.source_id, m.source_index, m.tenant_code, m.business_id,
                 m.created_at, m.state, m.outcome, m.subject_id,
                 exists (select 1 from outbox.messages l
                          where l.subject_id = m.subject_id and l.id > m.id and l.state = 'accepted') as superseded
            from outbox.messages m
           where m.id > ${after}
             ${options.tenantCode ? sql`and m.tenant_code = ${options.tenantCode}` : sql``}
             ${options.since ? sql`and m.created_at >= ${options.since.toISOString()}` : sql``}
           order by m.id
           limit ${pageSize}`,
    );
    if (page.length === 0) return;
    after = Number(page.at(-1)?.id ?? after);
    for (const m of page) {
      let atPmh = 'not-checked';
      let difference: Difference = '';
      if (m.state === 'queued' || m.state === 'sent') difference = 'not-delivered';
      else if (m.state === 'given-up') difference = 'given-up';
      else if (m.state === 'rejected') difference = 'rejected-by-pmh';
      else if (m.superseded) atPmh = 'superseded';
      else if (options.probe && m.subject_id && m.outcome !== 'not-found') {
        atPmh = await options.probe(m.tenant_code, m.business_id, m.subject_id);
        const gone = m.outcome === 'deleted';
        if (atPmh === 'unreadable') difference = 'unreadable-at-pmh';
        else if (gone && atPmh === 'present') difference = 'still-at-pmh';
        else if (!gone && atPmh === 'absent') difference = 'missing-at-pmh';
      }
      if (!difference && !options.all) continue;
      yield `${formatCsvRow([
        m.source_kind,
        m.source_id,
        String(m.source_index),
        m.tenant_code,
        m.business_id,
        new Date(m.created_at).toISOString(),
        m.state,
        m.outcome ?? '',
        m.subject_id ?? '',
        atPmh,
        difference,
      ])}\r\n`;
    }
  }
}
