import type { LookupEntitlement } from '../../pmh/index.js';
import {
  type CliContext,
  type CliSpec,
  gatewayUrlFrom,
  insurerUrlFrom,
  isoDateOption,
  parseArgsOrUsage,
  todayInJapan,
  UsageError,
} from '../cli/index.js';
import { type ClinicResult, cardSerialFor, type EligibilitySystem } from '../eligibility/index.js';
import { SimulatorHttpError } from '../http/index.js';
import { fiscalYearOf, registrationRecords } from '../population/index.js';

export { parseArgsOrUsage, todayInJapan, UsageError };

/** One entitlement as a clinic terminal or the portal receives it (seed ㉘ ㉙). */
export type ShownEntitlement = Partial<LookupEntitlement> &
  Pick<LookupEntitlement, 'medicalSubsidyRecipientNumber'>;

/** The text every surface shows for an empty answer: no consent, no PMH-ID and no entitlement look alike. */
export const NO_ENTITLEMENTS = '該当する資格情報はありません';

/** The columns of an entitlement table, Japanese first with the English beside it. */
export const ENTITLEMENT_COLUMNS = [
  { ja: '証明書名', en: 'certificate' },
  { ja: '自治体', en: 'municipality' },
  { ja: '公費負担者番号', en: 'payer number' },
  { ja: '公費受給者番号', en: 'recipient number' },
  { ja: '有効期間', en: 'valid period' },
  { ja: '自己負担上限', en: 'co-payment cap' },
  { ja: '指定医療機関', en: 'designated here' },
] as const;

/** The seed of the demo population (`npm run sim:case-system` registers seed 1 by default). */
export const DEMO_SEED = 1;

/** `2025-04-01〜2026-03-31`, ending on the forced expiry date (強制失効日) when that comes first. */
export function formatPeriod(e: ShownEntitlement): string {
  const forced = e.forcedExpiryDate && (!e.validTo || e.forcedExpiryDate < e.validTo);
  const end = forced ? e.forcedExpiryDate : e.validTo;
  return `${e.validFrom ?? ''}〜${end ?? ''}${forced ? '（強制失効）' : ''}`;
}

/** The co-payment cap (自己負担上限): `月額上限 5,000円`, `定率 10%`, or `—` when none is given. */
export function formatCap(cap: LookupEntitlement['maxCopaymentAmount']): string {
  if (!cap) return '—';
  const kind = cap.capKind ? `${cap.capKind} ` : '';
  if (cap.amount !== undefined) return `${kind}${cap.amount.toLocaleString('ja-JP')}円`;
  if (cap.rate !== undefined) return `${kind}${cap.rate}%`;
  return cap.capKind ?? '—';
}

/** Whether the asking clinic is a designated one: はい / いいえ, or `—` when the answer does not say (portal). */
export function formatDesignated(value: boolean | undefined, english = true): string {
  if (value === undefined) return '—';
  if (value) return english ? 'はい yes' : 'はい';
  return english ? 'いいえ no' : 'いいえ';
}

/** The cells of one entitlement, in the order of {@link ENTITLEMENT_COLUMNS}. */
export function entitlementCells(e: ShownEntitlement, english = true): string[] {
  return [
    e.certificationName ?? '',
    e.municipalityCode ?? '',
    e.medicalSubsidyInsurerNumber ?? '',
    e.medicalSubsidyRecipientNumber,
    formatPeriod(e),
    formatCap(e.maxCopaymentAmount),
    formatDesignated(e.isDesignatedInstitution, english),
  ];
}

const WIDE =
  /[\u1100-\u115F\u2E80-\u303E\u3041-\u33FF\u3400-\u4DBF\u4E00-\u9FFF\uA000-\uA4CF\uAC00-\uD7A3\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFF60\uFFE0-\uFFE6]/u;

/** Columns a string takes in a terminal: full-width (CJK) characters take two. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) width += WIDE.test(ch) ? 2 : 1;
  return width;
}

const pad = (text: string, width: number) => text + ' '.repeat(Math.max(0, width - displayWidth(text)));

/**
 * The entitlements as a plain-text table for a terminal (full-width characters aligned),
 * or {@link NO_ENTITLEMENTS} when there are none.
 *
 * @example
 * process.stdout.write(formatEntitlementsTable(answer.entitlements));
 */
export function formatEntitlementsTable(entitlements: readonly ShownEntitlement[]): string {
  if (entitlements.length === 0) return `${NO_ENTITLEMENTS} (no entitlements)\n`;
  const rows = [
    ENTITLEMENT_COLUMNS.map((c) => c.ja),
    ENTITLEMENT_COLUMNS.map((c) => c.en),
    ...entitlements.map((e) => entitlementCells(e)),
  ];
  const widths = ENTITLEMENT_COLUMNS.map((_, i) => Math.max(...rows.map((r) => displayWidth(r[i] ?? ''))));
  const line = (cells: readonly string[]) =>
    `${cells
      .map((c, i) => pad(c, widths[i] ?? 0))
      .join(' │ ')
      .trimEnd()}\n`;
  const rule = `${widths.map((w) => '─'.repeat(w)).join('─┼─')}\n`;
  const [ja = [], en = [], ...body] = rows;
  return `${line(ja)}${line(en)}${rule}${body.map(line).join('')}`;
}

/**
 * A card serial from what a user typed: a serial (`C` + 11 digits, any case) or a person
 * index of the demo population. Anything else is returned as typed (it matches no card).
 *
 * @example
 * resolveCard('12'); // 'C00000000012'
 */
export function resolveCard(input: string): string {
  const text = input.trim();
  if (/^\d{1,11}$/.test(text)) return cardSerialFor(Number(text));
  return /^c\d{11}$/i.test(text) ? text.toUpperCase() : text;
}

/** The demo population index of a simulated card, when it is one. */
export function demoIndexOfCard(cardSerial: string): number | undefined {
  return /^C\d{11}$/.test(cardSerial) ? Number(cardSerial.slice(1)) : undefined;
}

/**
 * What the demo population's record (seed 1) gives a card's holder: designated clinic and
 * validity — the fiscal year of `referenceDate` (default today in Japan), as
 * `npm run sim:case-system` registers it by default.
 */
export function demoEntitlementFor(
  cardSerial: string,
  opts: { seed?: number | string; referenceDate?: string } = {},
): { institutionCode?: string; validFrom: string; validTo?: string } | undefined {
  const index = demoIndexOfCard(cardSerial);
  if (index === undefined) return undefined;
  const [row] = registrationRecords({
    seed: opts.seed ?? DEMO_SEED,
    size: 1,
    offset: index,
    referenceDate: opts.referenceDate ?? todayInJapan(),
  });
  const record = row?.record;
  if (record?.modificationSeg !== '1') return undefined;
  const institutionCode = record.designatedMedicalInstitutions?.[0]?.institutionCode;
  return {
    ...(institutionCode ? { institutionCode } : {}),
    validFrom: record.validFrom,
    ...(record.validTo ? { validTo: record.validTo } : {}),
  };
}

/**
 * The 医療機関コード of the clinic the demo population's record names as designated for a
 * card's holder (seed 1, as `npm run sim:case-system` registers it) — a clinic where the
 * lookup shows "designated: yes".
 */
export function designatedInstitutionFor(
  cardSerial: string,
  seed: number | string = DEMO_SEED,
): string | undefined {
  return demoEntitlementFor(cardSerial, { seed })?.institutionCode;
}

/**
 * Why a demo card may show no entitlement: every 50th person's basic info is held one day off
 * at the insurer (no PMH-ID), the insurer holds the first 20,000 only, the date of care falls
 * outside the fiscal year `npm run sim:case-system` registers by default (today's), or the
 * person was not registered (for this fiscal year).
 */
export function demoHint(
  cardSerial: string,
  dateOfCare?: string,
  today: string = todayInJapan(),
): string | undefined {
  const index = demoIndexOfCard(cardSerial);
  if (index === undefined) return undefined;
  if (index % 50 === 49)
    return 'in the demo every 50th person (index % 50 = 49) fails the insurer cross-check and gets no PMH-ID';
  if (index >= 20_000) return 'the demo insurer holds the first 20,000 people only (DEMO_INSURED)';
  const register = `npm run sim:case-system -- --subjects ${index + 1}`;
  const demo = demoEntitlementFor(cardSerial, { referenceDate: today });
  if (dateOfCare && demo && (dateOfCare < demo.validFrom || (demo.validTo && dateOfCare > demo.validTo))) {
    const fy = fiscalYearOf(dateOfCare);
    return `sim:case-system registers the demo data (seed ${DEMO_SEED}) for the fiscal year of the day it runs, so this person's entitlement runs ${demo.validFrom}〜${demo.validTo ?? ''}: try a --date in it, or register fiscal year ${fy.year} with ${register} --reference-date ${dateOfCare}`;
  }
  return `is person ${index} registered for this fiscal year (${demo?.validFrom ?? ''}〜${demo?.validTo ?? ''})? ${register}`;
}

/** A short, safe description of a failure: the problem code for a server's answer, never a stack. */
export function describeFailure(error: unknown, where?: string): string {
  if (error instanceof SimulatorHttpError) return `HTTP ${error.status}${error.code ? ` ${error.code}` : ''}`;
  if (error instanceof TypeError && where) return `cannot reach ${where} (is \`npm start\` running?)`;
  return error instanceof Error ? error.name : 'unknown error';
}

/** Options of the clinic terminal command line. */
export interface ClinicCliOptions {
  card: string;
  institution?: string;
  date: string;
  fhir: boolean;
  consent: boolean;
  url: string;
  insurerUrl: string;
  replay: boolean;
  help: boolean;
}

/** Help text of `npm run sim:clinic`. */
export const CLINIC_USAGE = `usage: npm run sim:clinic -- --card C00000000012 [options]

A clinic terminal (seed ㉙): authenticates a My Number card, asks for consent, and has the
online eligibility system look up the holder's medical-subsidy entitlements at the hub.

  --card SERIAL         card certificate serial (C + 11 digits)
  --index N             or the demo population index (card C + N padded to 11 digits)
  --institution CODE    医療機関コード (default: the holder's designated clinic in the demo data)
  --date YYYY-MM-DD     date of care (default: today in Japan; sim:case-system registers
                        entitlements for the fiscal year of the day it runs)
  --fhir                print the answer as a FHIR Bundle (JSON)
  --no-consent          the resident does not consent (the answer is then empty)
  --replay              send one linkage key twice and show that the second use is refused
  --url URL             gateway (default http://$HOST:$PORT from the environment, as
                        \`npm start\` listens; else http://127.0.0.1:3000)
  --insurer-url URL     insurer intermediate server (default http://$HOST:$INSURER_PORT;
                        else http://127.0.0.1:3001)

Reads demo credentials and keys from DATA_DIR (default ./data).
`;

/** The card from `--card` or `--index` (both may be given when they agree). */
export function cardFromArgs(values: { card?: string | undefined; index?: string | undefined }): string {
  const fromIndex = values.index !== undefined ? indexToCard(values.index) : undefined;
  const fromCard = values.card !== undefined ? resolveCard(values.card) : undefined;
  if (fromCard !== undefined && !/^C\d{11}$/.test(fromCard))
    throw new UsageError(`--card must be C followed by 11 digits, not ${JSON.stringify(values.card)}`);
  if (fromIndex && fromCard && fromIndex !== fromCard)
    throw new UsageError(`--card ${fromCard} and --index ${values.index} name different cards`);
  const card = fromCard ?? fromIndex;
  if (!card) throw new UsageError('give --card or --index');
  return card;
}

function indexToCard(index: string): string {
  if (!/^\d{1,11}$/.test(index)) throw new UsageError(`--index must be a non-negative integer, not ${index}`);
  return cardSerialFor(Number(index));
}

/** Checks a `--date` (default `today`). */
export function dateFromArgs(date: string | undefined, today: string): string {
  return isoDateOption('date', date ?? today);
}

/**
 * Parses `npm run sim:clinic` arguments. `--url` and `--insurer-url` default to `defaults.url`
 * and `defaults.insurerUrl`, else to the servers of `defaults.env` (HOST, PORT, INSURER_PORT).
 *
 * @example
 * parseClinicArgs(['--index', '12', '--replay'], { today: '2025-06-01' });
 */
export function parseClinicArgs(
  argv: readonly string[],
  defaults: { today: string; env?: CliContext['env']; url?: string; insurerUrl?: string },
): ClinicCliOptions {
  const { values } = parseArgsOrUsage({
    args: [...argv],
    options: {
      card: { type: 'string' },
      index: { type: 'string' },
      institution: { type: 'string' },
      date: { type: 'string' },
      fhir: { type: 'boolean', default: false },
      'no-consent': { type: 'boolean', default: false },
      replay: { type: 'boolean', default: false },
      url: { type: 'string' },
      'insurer-url': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const flags = { fhir: values.fhir, consent: !values['no-consent'], replay: values.replay };
  if (values.help) return { ...flags, url: '', insurerUrl: '', card: '', date: defaults.today, help: true };
  const base = {
    ...flags,
    url: values.url ?? defaults.url ?? gatewayUrlFrom(defaults.env ?? {}),
    insurerUrl: values['insurer-url'] ?? defaults.insurerUrl ?? insurerUrlFrom(defaults.env ?? {}),
  };
  if (values.institution !== undefined && !/^\d{10}$/.test(values.institution))
    throw new UsageError(`--institution must be a 10-digit 医療機関コード, not ${values.institution}`);
  return {
    ...base,
    card: cardFromArgs(values),
    ...(values.institution !== undefined ? { institution: values.institution } : {}),
    date: dateFromArgs(values.date, defaults.today),
    help: false,
  };
}

/** The `npm run sim:clinic` command line (see `runCli`). */
export const CLINIC_CLI: CliSpec<ClinicCliOptions> = {
  command: 'sim:clinic',
  usage: CLINIC_USAGE,
  parse: (argv, context) => parseClinicArgs(argv, context),
};

/** Where a run writes. */
export interface TerminalIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/** The entitlements of a clinic answer's JSON body (empty for anything else). */
export function entitlementsOf(body: unknown): ShownEntitlement[] {
  const list = (body as { entitlements?: unknown } | null)?.entitlements;
  return Array.isArray(list) ? (list as ShownEntitlement[]) : [];
}

/** Prints one lookup: the request id and the table, or the FHIR JSON. */
export function formatClinicResult(result: ClinicResult, fhir: boolean): string {
  if (fhir) return `${JSON.stringify(result.body, null, 2)}\n`;
  return `request id ${result.requestId}\n\n${formatEntitlementsTable(entitlementsOf(result.body))}`;
}

/**
 * Sends one linkage key twice (seed ㉙: a key is made per query and used once) and reports
 * the hub's answers; true when the second use was refused as `replayed`.
 */
export async function demonstrateReplay(
  eligibility: EligibilitySystem,
  input: { card: string; institution: string; date: string },
  io: TerminalIo,
): Promise<boolean> {
  const pmhId = await eligibility.pmhIdForCard(input.card);
  if (!pmhId) {
    io.stdout.write(`no PMH-ID for ${input.card}: no linkage key can be made, nothing to replay\n`);
    return false;
  }
  const key = await eligibility.issueLinkageKey(input.card, pmhId);
  const query = { institutionCode: input.institution, dateOfCare: input.date };
  const first = await eligibility.query(key, query);
  const firstBody = (await first.json().catch(() => ({}))) as { entitlements?: unknown[]; code?: string };
  io.stdout.write(
    `1st use of the key: HTTP ${first.status}${first.ok ? ` — ${firstBody.entitlements?.length ?? 0} entitlement(s)` : ` ${firstBody.code ?? ''}`}\n`,
  );
  const again = await eligibility.query(key, query);
  const body = (await again.json().catch(() => ({}))) as { code?: string; errors?: { code?: string }[] };
  const reason = body.errors?.[0]?.code;
  io.stdout.write(
    `2nd use of the same key: HTTP ${again.status} ${body.code ?? ''}${reason ? ` (${reason})` : ''}\n`,
  );
  const refused = again.status === 422 && body.code === 'linkage-key-refused' && reason === 'replayed';
  io.stdout.write(
    refused
      ? 'refused as expected: a linkage key works once only\n'
      : 'unexpected: the second use was not refused as replayed\n',
  );
  return refused && first.ok;
}

/**
 * One clinic visit from the command line; returns the exit code (0 ok, 1 failure).
 *
 * @example
 * process.exitCode = await runClinic(options, demoSimulators(...).eligibility, process);
 */
export async function runClinic(
  options: ClinicCliOptions,
  eligibility: EligibilitySystem,
  io: TerminalIo,
): Promise<number> {
  const designated = designatedInstitutionFor(options.card);
  const institution = options.institution ?? designated ?? '1312345679';
  io.stderr.write(
    `clinic ${institution}${!options.institution && designated ? ' (the holder’s designated clinic in the demo data)' : ''}, card ${options.card}, date of care ${options.date}, ${options.consent ? 'consent given' : 'no consent'}\n`,
  );
  try {
    if (options.replay) {
      const ok = await demonstrateReplay(
        eligibility,
        { card: options.card, institution, date: options.date },
        io,
      );
      return ok ? 0 : 1;
    }
    const result = await eligibility.lookupAtClinic({
      cardSerial: options.card,
      consent: options.consent,
      institutionCode: institution,
      dateOfCare: options.date,
      fhir: options.fhir,
    });
    io.stdout.write(formatClinicResult(result, options.fhir));
    const hint = options.consent ? demoHint(options.card, options.date) : undefined;
    if (!options.fhir && entitlementsOf(result.body).length === 0 && hint) io.stderr.write(`note: ${hint}\n`);
    return 0;
  } catch (error) {
    io.stderr.write(`error: ${describeFailure(error, `${options.url} or ${options.insurerUrl}`)}\n`);
    return 1;
  }
}
