import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isValidInsurerNumber, isValidMunicipalityCode } from '../../src/japanese/index.js';
import {
  compilePermitList,
  decide,
  expandAgencyRef,
  loadPermitListFile,
  PERMIT_REFUSAL_REASONS,
  type PermitEntry,
  type PermitListFile,
  PermitListInvalidError,
  type PermitQuery,
  parsePermitListFile,
  SHIPPED_PERMIT_LIST_URL,
} from '../../src/permit-list/index.js';

const shipped = await loadPermitListFile(SHIPPED_PERMIT_LIST_URL);
const list = compilePermitList(shipped);
const classes = new Map(shipped.classes.map((c) => [c.classId, c.members] as const));

const ON = '2025-09-01';
const ask = (q: Partial<PermitQuery>): PermitQuery => ({
  requester: '131016',
  provider: '130001',
  procedure: 'disaster-victim-ledger',
  dataItems: ['jsi.certificate'],
  on: ON,
  ...q,
});

function entryById(file: PermitListFile, id: string): PermitEntry {
  const entry = file.entries.find((e) => e.id === id);
  if (!entry) throw new Error(`no entry ${id} in the shipped list`);
  return entry;
}

/** The shipped file with one entry changed (a deep copy; the shipped file stays as it is). */
function withEntry(id: string, change: (e: PermitEntry) => PermitEntry[]): PermitListFile {
  const copy = structuredClone(shipped);
  copy.entries = copy.entries.flatMap((e) => (e.id === id ? change(e) : [e]));
  return copy;
}

describe('the shipped permit list', () => {
  it('Should parse and name the four provisions of the seed', () => {
    expect(shipped.entries.map((e) => e.procedure.code).sort()).toEqual([
      'china-returnee-support',
      'disaster-victim-ledger',
      'jsi-payment',
      'public-assistance',
    ]);
    expect(list.triples, 'triples after class expansion').toBe(62 + 2 * 53 + 4);
  });

  it('Should identify local governments and insurers by codes with valid check digits', () => {
    for (const a of shipped.agencies) {
      const ok =
        a.kind === 'insurer' ? isValidInsurerNumber(a.agencyId) : isValidMunicipalityCode(a.agencyId);
      expect(ok, `${a.name} ${a.agencyId}`).toBe(true);
    }
  });

  it('Should list every municipality of Tokyo in 東京都内各区市町村長', () => {
    const members = classes.get('tokyo-municipalities') ?? [];
    expect(members).toHaveLength(62);
    expect(members).toContain('131016');
    expect(members).toContain('131121');
  });

  it('Should flag the 障害区分 ICD code autoResponseDisabled wherever it is listed', () => {
    const icd = shipped.entries.flatMap((e) => e.dataItems.filter((i) => i.code === 'jsi.disability-icd'));
    expect(icd.length, 'the ICD item is shipped').toBeGreaterThan(0);
    for (const item of icd) expect(item.autoResponseDisabled, item.name).toBe(true);
    const others = shipped.entries.flatMap((e) => e.dataItems.filter((i) => i.code !== 'jsi.disability-icd'));
    for (const item of others) expect(item.autoResponseDisabled, item.name).toBe(false);
  });

  it('Should cite 番号法第19条第8号 for every entry, as the seed does', () => {
    for (const e of shipped.entries) {
      expect(e.legalBasis.law, e.id).toContain('番号法');
      expect(e.legalBasis.article, e.id).toBe('第19条第8号');
    }
    expect(entryById(shipped, 'insurance-inquiry.medical-insurers').legalBasis.text).toContain(
      '主務省令第２条の表144の項',
    );
  });
});

describe('decide', () => {
  it('Should permit 千代田区 to ask 東京都 for the disaster-victim ledger, holding the ICD item for release', () => {
    expect(decide(list, ask({ dataItems: ['jsi.certificate', 'jsi.disability-icd'] }))).toEqual({
      permitted: true,
      entryId: 'disaster-victim-ledger.tokyo-municipalities',
      autoResponseDisabledItems: ['jsi.disability-icd'],
    });
  });

  it('Should permit 神奈川県 public assistance and 中国残留邦人等支援給付 inquiries', () => {
    for (const procedure of ['public-assistance', 'china-returnee-support']) {
      const d = decide(
        list,
        ask({ requester: '140007', procedure, dataItems: ['jsi.certificate', 'jsi.income-segment'] }),
      );
      expect(d, procedure).toEqual({
        permitted: true,
        entryId: `${procedure}.welfare-authorities`,
        autoResponseDisabledItems: [],
      });
    }
  });

  it('Should permit 東京都 to ask insurers for insurance data (保険情報照会)', () => {
    for (const provider of ['01130012', '131121']) {
      const d = decide(
        list,
        ask({
          requester: '130001',
          provider,
          procedure: 'jsi-payment',
          dataItems: ['ins.insurer', 'ins.card-symbol-number'],
        }),
      );
      expect(d.permitted, provider).toBe(true);
    }
  });

  it('Should not permit an unknown requester (大阪府)', () => {
    expect(decide(list, ask({ requester: '270008' }))).toEqual({
      permitted: false,
      reason: 'unknown-requester',
    });
  });

  it('Should not permit asking an agency that provides nothing (神奈川県)', () => {
    expect(decide(list, ask({ provider: '140007' }))).toEqual({
      permitted: false,
      reason: 'unknown-provider',
    });
  });

  it('Should not permit a town without a welfare office (瑞穂町) a public-assistance inquiry', () => {
    expect(decide(list, ask({ requester: '133035', procedure: 'public-assistance' }))).toEqual({
      permitted: false,
      reason: 'procedure-not-permitted',
    });
  });

  it('Should not permit a known pair that has no entry between them (千代田区 → 全国健康保険協会)', () => {
    expect(decide(list, ask({ provider: '01130012' }))).toEqual({
      permitted: false,
      reason: 'procedure-not-permitted',
    });
  });

  it('Should not permit the ICD code for public assistance, listing the item', () => {
    const d = decide(
      list,
      ask({
        requester: '140007',
        procedure: 'public-assistance',
        dataItems: ['jsi.certificate', 'jsi.disability-icd', 'jsi.disability-icd'],
      }),
    );
    expect(d).toEqual({ permitted: false, reason: 'item-not-permitted', items: ['jsi.disability-icd'] });
  });

  it('Should not permit an inquiry before the list takes effect', () => {
    expect(decide(list, ask({ on: '2025-04-30' }))).toEqual({ permitted: false, reason: 'outside-validity' });
  });

  it('Should not treat a malformed or impossible date as inside the validity', () => {
    for (const on of ['2025-9-01', '2025-02-30', '2025-09-01T10:00:00+09:00', 'zzzzzzzzzz', '']) {
      expect(decide(list, ask({ on })), on).toEqual({ permitted: false, reason: 'outside-validity' });
    }
  });

  it('Should permit an empty item list (nothing asked, nothing answered)', () => {
    expect(decide(list, ask({ dataItems: [] })).permitted).toBe(true);
  });
});

describe('validity', () => {
  const id = 'disaster-victim-ledger.tokyo-municipalities';
  const bounded = compilePermitList(
    withEntry(id, (e) => [
      { ...e, id: 'old', validFrom: '2024-04-01', validTo: '2025-03-31', dataItems: e.dataItems.slice(0, 1) },
      { ...e, id: 'new', validFrom: '2025-04-01', validTo: '2026-03-31' },
    ]),
  );

  it('Should include validFrom and validTo themselves', () => {
    const at = (on: string) => decide(bounded, ask({ on }));
    expect(at('2024-03-31'), 'day before the first validFrom').toEqual({
      permitted: false,
      reason: 'outside-validity',
    });
    expect(at('2024-04-01'), 'first validFrom').toMatchObject({ permitted: true, entryId: 'old' });
    expect(at('2025-03-31'), 'old validTo').toMatchObject({ permitted: true, entryId: 'old' });
    expect(at('2025-04-01'), 'new validFrom').toMatchObject({ permitted: true, entryId: 'new' });
    expect(at('2026-03-31'), 'new validTo').toMatchObject({ permitted: true, entryId: 'new' });
    expect(at('2026-04-01'), 'day after the last validTo').toEqual({
      permitted: false,
      reason: 'outside-validity',
    });
  });

  it('Should judge items against the entry valid on the day', () => {
    const items = ['jsi.certificate', 'jsi.disability-icd'];
    expect(decide(bounded, ask({ on: '2025-03-31', dataItems: items }))).toEqual({
      permitted: false,
      reason: 'item-not-permitted',
      items: ['jsi.disability-icd'],
    });
    expect(decide(bounded, ask({ on: '2025-04-01', dataItems: items })).permitted).toBe(true);
  });

  it('Should refuse a file whose entries overlap for the same requester, provider and procedure', () => {
    const file = withEntry(id, (e) => [e, { ...e, id: 'again', validFrom: '2030-01-01' }]);
    const parsed = parsePermitListFile(file);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok)
      expect(parsed.issues.join('\n')).toContain(
        'entry again overlaps entry disaster-victim-ledger.tokyo-municipalities',
      );
    expect(() => compilePermitList(file)).toThrow(PermitListInvalidError);
  });

  it('Should refuse validTo before validFrom, unknown references and duplicate ids with their paths', () => {
    const file = withEntry(id, (e) => [
      { ...e, validTo: '2025-01-01' },
      { ...e, id: e.id, requester: 'class:nobody', provider: '999999', validFrom: '2040-01-01' },
    ]);
    const parsed = parsePermitListFile(file);
    expect(parsed.ok).toBe(false);
    const text = parsed.ok ? '' : parsed.issues.join('\n');
    expect(text).toContain('entries.0.validTo: validTo 2025-01-01 is before validFrom 2025-05-01');
    expect(text).toContain(
      'entries.1.id: entry id disaster-victim-ledger.tokyo-municipalities is used twice',
    );
    expect(text).toContain(
      'entries.1.requester: entry disaster-victim-ledger.tokyo-municipalities: unknown requester class:nobody',
    );
    expect(text).toContain('unknown provider 999999');
  });
});

describe('decide (properties)', () => {
  const toDate = (d: Date) => d.toISOString().slice(0, 10);
  const dateIn = (e: PermitEntry) =>
    fc
      .date({
        min: new Date(`${e.validFrom}T00:00:00Z`),
        max: new Date(`${e.validTo ?? '2099-12-31'}T00:00:00Z`),
        noInvalidDate: true,
      })
      .map(toDate);

  const permittedRequest = fc.constantFrom(...shipped.entries).chain((e) =>
    fc.record({
      entry: fc.constant(e),
      requester: fc.constantFrom(...expandAgencyRef(e.requester, classes)),
      provider: fc.constantFrom(...expandAgencyRef(e.provider, classes)),
      items: fc.shuffledSubarray(e.dataItems.map((i) => i.code)),
      on: dateIn(e),
    }),
  );

  it('Should permit any subset of an entry’s items on any day of its validity', () => {
    fc.assert(
      fc.property(permittedRequest, ({ entry, requester, provider, items, on }) => {
        const d = decide(list, {
          requester,
          provider,
          procedure: entry.procedure.code,
          dataItems: items,
          on,
        });
        const held = items.filter((c) => entry.dataItems.some((i) => i.code === c && i.autoResponseDisabled));
        expect(d).toEqual({ permitted: true, entryId: entry.id, autoResponseDisabledItems: held });
      }),
    );
  });

  it('Should refuse any added item the entry lacks, listing exactly the added items', () => {
    const withExtras = permittedRequest
      .chain((r) =>
        fc.record({
          r: fc.constant(r),
          extras: fc.uniqueArray(
            fc.string({ minLength: 1 }).filter((s) => !r.entry.dataItems.some((i) => i.code === s)),
            { minLength: 1, maxLength: 4 },
          ),
        }),
      )
      .chain(({ r, extras }) => {
        const all = [...r.items, ...extras];
        return fc.record({
          r: fc.constant(r),
          extras: fc.constant(extras),
          mixed: fc.shuffledSubarray(all, { minLength: all.length }),
        });
      });
    fc.assert(
      fc.property(withExtras, ({ r, extras, mixed }) => {
        const d = decide(list, {
          requester: r.requester,
          provider: r.provider,
          procedure: r.entry.procedure.code,
          dataItems: mixed,
          on: r.on,
        });
        expect(d.permitted).toBe(false);
        if (d.permitted || d.reason !== 'item-not-permitted')
          throw new Error(`expected item-not-permitted, got ${JSON.stringify(d)}`);
        expect([...d.items].sort()).toEqual([...extras].sort());
        expect(d.items).toEqual(mixed.filter((c) => extras.includes(c)));
      }),
    );
  });

  it('Should never throw and always answer with a known reason for arbitrary strings', () => {
    const known = (xs: readonly string[]) => fc.oneof(fc.string(), fc.constantFrom(...xs));
    const agencyIds = shipped.agencies.map((a) => a.agencyId);
    const procedures = shipped.entries.map((e) => e.procedure.code);
    const items = shipped.entries.flatMap((e) => e.dataItems.map((i) => i.code));
    fc.assert(
      fc.property(
        known(agencyIds),
        known(agencyIds),
        known(procedures),
        fc.array(known(items), { maxLength: 6 }),
        fc.oneof(fc.string(), dateIn(entryById(shipped, 'public-assistance.welfare-authorities'))),
        (requester, provider, procedure, dataItems, on) => {
          const d = decide(list, { requester, provider, procedure, dataItems, on });
          if (!d.permitted) expect(PERMIT_REFUSAL_REASONS).toContain(d.reason);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
