import { isIsoDate } from '../japanese/index.js';
import {
  expandAgencyRef,
  type PermitEntry,
  type PermitListFile,
  type PermitListFileInput,
  type PermitRefusalReason,
  parsePermitListFile,
} from './permit-list.schemas.js';

/** One entry as `decide` reads it: its validity and its items (code → autoResponseDisabled). */
export interface CompiledPermitEntry {
  readonly id: string;
  readonly validFrom: string;
  readonly validTo: string | undefined;
  readonly items: ReadonlyMap<string, boolean>;
  readonly entry: PermitEntry;
}

/**
 * A permit list ready for `decide`: requester → provider → procedure code → the entries for
 * that triple, sorted by `validFrom` and never overlapping (the file schema guarantees it), with
 * classes expanded to their member agencies. Three `Map.get`s answer a request without building
 * a composite key string.
 */
export interface CompiledPermitList {
  readonly version: string;
  readonly publishedAt: string;
  readonly file: PermitListFile;
  /** Entries by id, for the legal basis and names behind a decision's `entryId`. */
  readonly entries: ReadonlyMap<string, PermitEntry>;
  readonly index: ReadonlyMap<
    string,
    ReadonlyMap<string, ReadonlyMap<string, readonly CompiledPermitEntry[]>>
  >;
  /** Every agency that provides under some entry; tells `unknown-provider` from `procedure-not-permitted`. */
  readonly providers: ReadonlySet<string>;
  /** Number of (requester, provider, procedure) triples after class expansion. */
  readonly triples: number;
}

/** An inquiry to decide; `on` is the date of the inquiry, `YYYY-MM-DD`. */
export interface PermitQuery {
  readonly requester: string;
  readonly provider: string;
  readonly procedure: string;
  readonly dataItems: readonly string[];
  readonly on: string;
}

/** Yes: the entry that permits it, and the requested items that wait for a manual release (自動応答不可). */
export interface PermitGranted {
  readonly permitted: true;
  readonly entryId: string;
  readonly autoResponseDisabledItems: readonly string[];
}

/** No, with the reason; `item-not-permitted` lists the requested items the entry does not allow. */
export type PermitRefused =
  | { readonly permitted: false; readonly reason: Exclude<PermitRefusalReason, 'item-not-permitted'> }
  | { readonly permitted: false; readonly reason: 'item-not-permitted'; readonly items: readonly string[] };

/** The outcome of {@link decide}. */
export type PermitDecision = PermitGranted | PermitRefused;

/** Raised when a file handed to {@link compilePermitList} does not pass the schema; `issues` say where. */
export class PermitListInvalidError extends Error {
  override readonly name = 'PermitListInvalidError';
  constructor(
    readonly issues: readonly string[],
    source = 'permit list',
  ) {
    super(`${source} is invalid:\n  ${issues.join('\n  ')}`);
  }
}

/**
 * Validates a permit-list file and builds the lookup index used by {@link decide}.
 *
 * Source: seed Ⅲ.6 (連携サーバー checks 照会者, 事務, 移転者, 特定個人情報の項目 against the list).
 * @throws PermitListInvalidError when the file does not pass `permitListFileSchema`.
 * @example const list = compilePermitList(JSON.parse(readFileSync(SHIPPED_PERMIT_LIST_URL, 'utf8')));
 */
export function compilePermitList(input: PermitListFileInput | PermitListFile): CompiledPermitList {
  const parsed = parsePermitListFile(input);
  if (!parsed.ok) throw new PermitListInvalidError(parsed.issues);
  const file = parsed.file;
  const classes = new Map(file.classes.map((c) => [c.classId, c.members] as const));
  const index = new Map<string, Map<string, Map<string, CompiledPermitEntry[]>>>();
  const providers = new Set<string>();
  const entries = new Map<string, PermitEntry>();
  let triples = 0;
  for (const entry of file.entries) {
    entries.set(entry.id, entry);
    const compiled: CompiledPermitEntry = {
      id: entry.id,
      validFrom: entry.validFrom,
      validTo: entry.validTo,
      items: new Map(entry.dataItems.map((item) => [item.code, item.autoResponseDisabled] as const)),
      entry,
    };
    for (const requester of new Set(expandAgencyRef(entry.requester, classes))) {
      let byProvider = index.get(requester);
      if (!byProvider) {
        byProvider = new Map();
        index.set(requester, byProvider);
      }
      for (const provider of new Set(expandAgencyRef(entry.provider, classes))) {
        providers.add(provider);
        let byProcedure = byProvider.get(provider);
        if (!byProcedure) {
          byProcedure = new Map();
          byProvider.set(provider, byProcedure);
        }
        const list = byProcedure.get(entry.procedure.code);
        if (list) list.push(compiled);
        else {
          byProcedure.set(entry.procedure.code, [compiled]);
          triples += 1;
        }
      }
    }
  }
  for (const byProvider of index.values())
    for (const byProcedure of byProvider.values())
      for (const list of byProcedure.values()) list.sort((a, b) => (a.validFrom < b.validFrom ? -1 : 1));
  return { version: file.version, publishedAt: file.publishedAt, file, entries, index, providers, triples };
}

const NO_ITEMS: readonly string[] = Object.freeze([]);
const refused = (reason: Exclude<PermitRefusalReason, 'item-not-permitted'>): PermitRefused =>
  Object.freeze({ permitted: false, reason });
const UNKNOWN_REQUESTER = refused('unknown-requester');
const UNKNOWN_PROVIDER = refused('unknown-provider');
const PROCEDURE_NOT_PERMITTED = refused('procedure-not-permitted');
const OUTSIDE_VALIDITY = refused('outside-validity');

/**
 * Decides one inquiry against the permit list (照会許可用照合リスト). Pure and allocation-free
 * except for the result's item arrays; refusals without items are shared frozen objects. Checks,
 * in order:
 * 1. `unknown-requester` — the requester is in no entry (directly or through a class);
 * 2. `unknown-provider` — the provider is in no entry at all;
 * 3. `procedure-not-permitted` — no entry for (requester, provider, procedure);
 * 4. `outside-validity` — such entries exist, but none is valid on `on` (bounds inclusive;
 *    an `on` that is not a `YYYY-MM-DD` calendar date is never inside);
 * 5. `item-not-permitted` — the entry valid that day lacks some requested items (listed once each,
 *    in request order).
 * Otherwise permitted, naming the entry and the requested items flagged 自動応答不可, which wait
 * for staff to release them. An empty `dataItems` asks for nothing and is permitted.
 *
 * Source: DOMAIN.md 5; seed Ⅲ.6 (照会者, 事務, 移転者, 特定個人情報の項目 checked by the system;
 * 自動応答不可 answered only after the provider's explicit approval).
 * @example decide(list, { requester: '131016', provider: '130001', procedure: 'disaster-victim-ledger', dataItems: ['jsi.certificate'], on: '2025-09-01' })
 * // => { permitted: true, entryId: 'disaster-victim-ledger.tokyo-municipalities', autoResponseDisabledItems: [] }
 */
export function decide(list: CompiledPermitList, request: PermitQuery): PermitDecision {
  const byProvider = list.index.get(request.requester);
  if (byProvider === undefined) return UNKNOWN_REQUESTER;
  const byProcedure = byProvider.get(request.provider);
  if (byProcedure === undefined) {
    return list.providers.has(request.provider) ? PROCEDURE_NOT_PERMITTED : UNKNOWN_PROVIDER;
  }
  const candidates = byProcedure.get(request.procedure);
  if (candidates === undefined) return PROCEDURE_NOT_PERMITTED;
  const on = request.on;
  if (typeof on !== 'string' || !isIsoDate(on)) return OUTSIDE_VALIDITY;
  let entry: CompiledPermitEntry | undefined;
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i] as CompiledPermitEntry;
    if (c.validFrom <= on && (c.validTo === undefined || on <= c.validTo)) {
      entry = c;
      break;
    }
  }
  if (entry === undefined) return OUTSIDE_VALIDITY;
  const requested = request.dataItems;
  const n = Array.isArray(requested) ? requested.length : 0;
  let extra: string[] | undefined;
  let held: string[] | undefined;
  for (let i = 0; i < n; i++) {
    const code = requested[i] as string;
    const flag = entry.items.get(code);
    if (flag === undefined) {
      if (extra === undefined) extra = [code];
      else if (!extra.includes(code)) extra.push(code);
    } else if (flag && extra === undefined) {
      if (held === undefined) held = [code];
      else if (!held.includes(code)) held.push(code);
    }
  }
  if (extra !== undefined) return { permitted: false, reason: 'item-not-permitted', items: extra };
  return { permitted: true, entryId: entry.id, autoResponseDisabledItems: held ?? NO_ITEMS };
}
