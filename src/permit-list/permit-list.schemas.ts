import { z } from 'zod';

/**
 * Agency identifiers. A local government is named by its 6-digit 全国地方公共団体コード (check
 * digit included: 東京都 130001, 千代田区 131016); an insurer by its 8-digit 保険者番号
 * (全国健康保険協会 東京支部 01130012). Other ids are allowed (letters, digits, `.`, `_`, `-`),
 * so a national body can be listed without a code of its own.
 *
 * Source: GLOSSARY.md 機関マスタID → `agencyId`; DOMAIN.md "Identifier formats".
 * @example agencyIdSchema.parse('130001')
 */
export const agencyIdSchema = z
  .string()
  .regex(/^[0-9A-Za-z][0-9A-Za-z._-]{0,39}$/, 'an agency id: 1–40 letters, digits, ".", "_" or "-"');

/** Prefix that turns a class id into a requester/provider reference: `class:tokyo-municipalities`. */
export const AGENCY_CLASS_PREFIX = 'class:';

/**
 * Who may stand on either side of an entry: one agency (`131016`) or a named class of
 * agencies (`class:tokyo-municipalities` = 東京都内各区市町村長). Classes are listed with their
 * members in the file and expanded when the list is compiled, so `decide` always sees a
 * concrete agency id.
 *
 * @example agencyRefSchema.parse('class:tokyo-municipalities')
 */
export const agencyRefSchema = z
  .string()
  .regex(
    /^(class:[a-z0-9][a-z0-9-]{0,39}|[0-9A-Za-z][0-9A-Za-z._-]{0,39})$/,
    'an agency id or "class:<class id>"',
  );

/** What an agency is; informative only (the decision never reads it). */
export const AGENCY_KINDS = ['prefecture', 'municipality', 'insurer', 'national'] as const;

/**
 * One agency the list names (機関), with its Japanese name.
 * @example { agencyId: '130001', name: '東京都', kind: 'prefecture' }
 */
export const agencySchema = z.strictObject({
  agencyId: agencyIdSchema,
  name: z.string().min(1).max(100),
  kind: z.enum(AGENCY_KINDS),
});

/**
 * A named class of agencies with explicit members, e.g. 東京都内各区市町村長 (all 62). Listing
 * the members keeps every permit auditable: who may ask is written down, not inferred from a
 * code pattern.
 *
 * @example { classId: 'welfare-authorities', name: '道府県知事等', members: ['140007'] }
 */
export const agencyClassSchema = z.strictObject({
  classId: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'a class id: lower-case letters, digits, "-"'),
  name: z.string().min(1).max(100),
  members: z.array(agencyIdSchema).min(1),
});

/** Codes of procedures and data items: 1–64 letters, digits, `.`, `_`, `-`. */
export const permitCodeSchema = z
  .string()
  .regex(/^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$/, 'a code: 1–64 letters, digits, ".", "_" or "-"');

/**
 * The 事務 (`procedure`) an inquiry is made for, e.g. 災害対策基本法による被災者台帳の作成に関する事務.
 * Codes are this project's own (the seed gives no official 事務番号).
 */
export const procedureSchema = z.strictObject({
  code: permitCodeSchema,
  name: z.string().min(1).max(200),
});

/**
 * One 特定個人情報の項目 (`dataItem`) the entry allows. `autoResponseDisabled` (自動応答不可フラグ):
 * the answer waits until staff re-check and release it by hand (DOMAIN.md 5, seed Ⅲ.6).
 */
export const dataItemSchema = z.strictObject({
  code: permitCodeSchema,
  name: z.string().min(1).max(200),
  autoResponseDisabled: z.boolean(),
});

/**
 * The legal basis as the seed states it: the law, the article, and the wording of the
 * assessment (提供先における用途 / 提供する情報, or 法令上の根拠). `source` points into the seed.
 */
export const legalBasisSchema = z.strictObject({
  law: z.string().min(1).max(200),
  article: z.string().min(1).max(200),
  text: z.string().min(1).max(2000),
  source: z.string().max(200).optional(),
});

/** An ISO calendar date, `YYYY-MM-DD` (Japan date; validity bounds are inclusive). */
export const isoDateSchema = z.iso.date();

/**
 * One 照会許可用照合リスト entry (`permitList`): `requester` may ask `provider` for
 * `dataItems` under `procedure`, from `validFrom` to `validTo` (both inclusive; no `validTo`
 * = open-ended).
 *
 * Source: DOMAIN.md 5 "Inter-agency provision"; seed Ⅱ.5 提供先1–3, Ⅱ.6, 別紙 ㉚.
 */
export const permitEntrySchema = z
  .strictObject({
    id: z
      .string()
      .regex(/^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$/, 'an entry id: 1–64 letters, digits, ".", "_" or "-"'),
    requester: agencyRefSchema,
    provider: agencyRefSchema,
    procedure: procedureSchema,
    dataItems: z.array(dataItemSchema).min(1),
    legalBasis: legalBasisSchema,
    validFrom: isoDateSchema,
    validTo: isoDateSchema.optional(),
  })
  .superRefine((entry, ctx) => {
    if (entry.validTo !== undefined && entry.validTo < entry.validFrom) {
      ctx.addIssue({
        code: 'custom',
        path: ['validTo'],
        message: `validTo ${entry.validTo} is before validFrom ${entry.validFrom}`,
      });
    }
    const seen = new Set<string>();
    entry.dataItems.forEach((item, i) => {
      if (seen.has(item.code)) {
        ctx.addIssue({
          code: 'custom',
          path: ['dataItems', i, 'code'],
          message: `data item ${item.code} is listed twice`,
        });
      }
      seen.add(item.code);
    });
  });

/**
 * Expands an agency reference to the agency ids it stands for: the class members for
 * `class:<id>`, else the id itself. Unknown classes expand to nothing (the file schema reports them).
 *
 * @example expandAgencyRef('class:x', new Map([['x', ['131016']]])) // => ['131016']
 */
export function expandAgencyRef(
  ref: string,
  classes: ReadonlyMap<string, readonly string[]>,
): readonly string[] {
  return ref.startsWith(AGENCY_CLASS_PREFIX)
    ? (classes.get(ref.slice(AGENCY_CLASS_PREFIX.length)) ?? [])
    : [ref];
}

function overlaps(a: PermitEntry, b: PermitEntry): boolean {
  return (
    (a.validTo === undefined || b.validFrom <= a.validTo) &&
    (b.validTo === undefined || a.validFrom <= b.validTo)
  );
}

/**
 * The versioned permit-list file (`src/permit-list/permit-list.v1.json`). Checked beyond the
 * shapes: unique agency, class and entry ids; every reference names a listed agency or class;
 * and no two entries for the same (requester, provider, procedure) — after classes are
 * expanded — overlap in validity, so at most one entry applies on any date.
 *
 * @example permitListFileSchema.parse(JSON.parse(readFileSync(path, 'utf8')))
 */
export const permitListFileSchema = z
  .strictObject({
    version: z.string().min(1).max(64),
    publishedAt: z.iso.datetime({ offset: true }),
    description: z.string().max(2000).optional(),
    agencies: z.array(agencySchema).min(1),
    classes: z.array(agencyClassSchema).default([]),
    entries: z.array(permitEntrySchema),
  })
  .superRefine((file, ctx) => {
    const agencies = new Set<string>();
    file.agencies.forEach((a, i) => {
      if (agencies.has(a.agencyId)) {
        ctx.addIssue({
          code: 'custom',
          path: ['agencies', i, 'agencyId'],
          message: `agency ${a.agencyId} is listed twice`,
        });
      }
      agencies.add(a.agencyId);
    });
    const classes = new Map<string, readonly string[]>();
    file.classes.forEach((c, i) => {
      if (classes.has(c.classId)) {
        ctx.addIssue({
          code: 'custom',
          path: ['classes', i, 'classId'],
          message: `class ${c.classId} is listed twice`,
        });
      }
      classes.set(c.classId, c.members);
      c.members.forEach((m, j) => {
        if (c.members.indexOf(m) !== j) {
          ctx.addIssue({
            code: 'custom',
            path: ['classes', i, 'members', j],
            message: `class ${c.classId} lists ${m} twice`,
          });
        } else if (!agencies.has(m)) {
          ctx.addIssue({
            code: 'custom',
            path: ['classes', i, 'members', j],
            message: `class ${c.classId} names unknown agency ${m}`,
          });
        }
      });
    });
    const ids = new Set<string>();
    const byKey = new Map<string, PermitEntry[]>();
    file.entries.forEach((e, i) => {
      if (ids.has(e.id))
        ctx.addIssue({
          code: 'custom',
          path: ['entries', i, 'id'],
          message: `entry id ${e.id} is used twice`,
        });
      ids.add(e.id);
      for (const side of ['requester', 'provider'] as const) {
        const ref = e[side];
        const known = ref.startsWith(AGENCY_CLASS_PREFIX)
          ? classes.has(ref.slice(AGENCY_CLASS_PREFIX.length))
          : agencies.has(ref);
        if (!known)
          ctx.addIssue({
            code: 'custom',
            path: ['entries', i, side],
            message: `entry ${e.id}: unknown ${side} ${ref}`,
          });
      }
      for (const r of new Set(expandAgencyRef(e.requester, classes))) {
        for (const p of new Set(expandAgencyRef(e.provider, classes))) {
          const key = `${r}|${p}|${e.procedure.code}`;
          const same = byKey.get(key) ?? [];
          const clash = same.find((other) => overlaps(other, e));
          if (clash) {
            ctx.addIssue({
              code: 'custom',
              path: ['entries', i, 'validFrom'],
              message: `entry ${e.id} overlaps entry ${clash.id} for requester ${r}, provider ${p}, procedure ${e.procedure.code}`,
            });
          }
          same.push(e);
          byKey.set(key, same);
        }
      }
    });
  });

/**
 * An inquiry to decide: who asks whom, for which 事務 and items, on which date (`YYYY-MM-DD`).
 * @example { requester: '131016', provider: '130001', procedure: 'disaster-victim-ledger', dataItems: ['jsi.certificate'], on: '2025-09-01' }
 */
export const permitRequestSchema = z.strictObject({
  requester: agencyIdSchema,
  provider: agencyIdSchema,
  procedure: permitCodeSchema,
  dataItems: z.array(permitCodeSchema).min(1).max(100),
  on: isoDateSchema,
});

/** Why `decide` says no; a closed list. */
export const PERMIT_REFUSAL_REASONS = [
  'unknown-requester',
  'unknown-provider',
  'procedure-not-permitted',
  'item-not-permitted',
  'outside-validity',
] as const;

export type AgencyId = z.infer<typeof agencyIdSchema>;
export type AgencyRef = z.infer<typeof agencyRefSchema>;
export type AgencyKind = (typeof AGENCY_KINDS)[number];
export type Agency = z.infer<typeof agencySchema>;
export type AgencyClass = z.infer<typeof agencyClassSchema>;
export type Procedure = z.infer<typeof procedureSchema>;
export type DataItem = z.infer<typeof dataItemSchema>;
export type LegalBasis = z.infer<typeof legalBasisSchema>;
export type PermitEntry = z.infer<typeof permitEntrySchema>;
export type PermitListFile = z.infer<typeof permitListFileSchema>;
/** The file as written, before defaults (`classes` may be absent). */
export type PermitListFileInput = z.input<typeof permitListFileSchema>;
export type PermitRequest = z.infer<typeof permitRequestSchema>;
export type PermitRefusalReason = (typeof PERMIT_REFUSAL_REASONS)[number];

/** Outcome of {@link parsePermitListFile}: the file, or one readable line per problem (`path: message`). */
export type PermitListParseResult =
  | { readonly ok: true; readonly file: PermitListFile }
  | { readonly ok: false; readonly issues: readonly string[] };

/**
 * Validates an untrusted permit-list document (from disk or the operator API).
 *
 * @example parsePermitListFile({ version: '1' }) // => { ok: false, issues: ['publishedAt: Invalid input: …', …] }
 */
export function parsePermitListFile(input: unknown): PermitListParseResult {
  const result = permitListFileSchema.safeParse(input);
  if (result.success) return { ok: true, file: result.data };
  return {
    ok: false,
    issues: result.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(file)'}: ${i.message}`),
  };
}
