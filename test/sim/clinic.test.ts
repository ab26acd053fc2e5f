import { describe, expect, it } from 'vitest';
import {
  demoEntitlementFor,
  demoHint,
  designatedInstitutionFor,
  displayWidth,
  formatCap,
  formatEntitlementsTable,
  formatPeriod,
  NO_ENTITLEMENTS,
  parseClinicArgs,
  resolveCard,
  type ShownEntitlement,
  UsageError,
} from '../../src/sim/clinic/index.js';

const entitlement: ShownEntitlement = {
  municipalityCode: '130001',
  certificationName: '自立支援医療受給者証（精神通院）',
  medicalSubsidyInsurerNumber: '21130013',
  medicalSubsidyRecipientNumber: '1234566',
  validFrom: '2025-04-01',
  validTo: '2026-03-31',
  maxCopaymentAmount: { capKind: '月額上限', amount: 5000 },
  isDesignatedInstitution: true,
};

describe('formatEntitlementsTable', () => {
  it('prints one row per entitlement under Japanese and English headers', () => {
    const table = formatEntitlementsTable([entitlement, { ...entitlement, isDesignatedInstitution: false }]);
    const lines = table.trimEnd().split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toContain('公費負担者番号');
    expect(lines[0]).toContain('公費受給者番号');
    expect(lines[1]).toContain('recipient number');
    expect(lines[3]).toContain('自立支援医療受給者証（精神通院）');
    expect(lines[3]).toContain('130001');
    expect(lines[3]).toContain('21130013');
    expect(lines[3]).toContain('1234566');
    expect(lines[3]).toContain('2025-04-01〜2026-03-31');
    expect(lines[3]).toContain('月額上限 5,000円');
    expect(lines[3]).toContain('はい yes');
    expect(lines[4]).toContain('いいえ no');
  });

  it('aligns the columns by display width, counting full-width characters twice', () => {
    const table = formatEntitlementsTable([entitlement, { ...entitlement, certificationName: 'short' }]);
    const lines = table.trimEnd().split('\n');
    const separatorColumns = (line: string) => {
      const cols: number[] = [];
      let at = 0;
      for (const ch of line) {
        if (ch === '│' || ch === '┼') cols.push(at);
        at += displayWidth(ch);
      }
      return cols;
    };
    const expected = separatorColumns(lines[2] ?? '');
    expect(expected).toHaveLength(6);
    for (const line of lines) expect(separatorColumns(line), line).toEqual(expected);
  });

  it('says there is nothing when the list is empty', () => {
    expect(formatEntitlementsTable([])).toContain(NO_ENTITLEMENTS);
  });

  it('shows a dash for the designation when the answer does not say (portal answers)', () => {
    const { isDesignatedInstitution: _omit, ...portal } = entitlement;
    const row = formatEntitlementsTable([portal]).trimEnd().split('\n')[3] ?? '';
    expect(row.trimEnd().endsWith('—')).toBe(true);
  });
});

describe('entitlement cells', () => {
  it('ends the period on a forced expiry date that comes before validTo', () => {
    expect(formatPeriod({ ...entitlement, forcedExpiryDate: '2025-09-30' })).toBe(
      '2025-04-01〜2025-09-30（強制失効）',
    );
    expect(formatPeriod({ ...entitlement, forcedExpiryDate: '2026-12-31' })).toBe('2025-04-01〜2026-03-31');
  });

  it('shows a cap as an amount, a rate, or a dash', () => {
    expect(formatCap({ amount: 2500 })).toBe('2,500円');
    expect(formatCap({ capKind: '定率', rate: 10 })).toBe('定率 10%');
    expect(formatCap(undefined)).toBe('—');
  });
});

describe('clinic command line', () => {
  const today = '2025-06-01';

  it('takes a card or a person index, consent by default, and today as the date of care', () => {
    expect(parseClinicArgs(['--index', '12'], { today })).toMatchObject({
      card: 'C00000000012',
      consent: true,
      date: today,
      fhir: false,
      replay: false,
      url: 'http://127.0.0.1:3000',
      insurerUrl: 'http://127.0.0.1:3001',
    });
    expect(
      parseClinicArgs(['--card', 'c00000000012', '--no-consent', '--fhir', '--date', '2025-07-01'], {
        today,
      }),
    ).toMatchObject({ card: 'C00000000012', consent: false, fhir: true, date: '2025-07-01' });
  });

  it('refuses a malformed card, disagreeing --card and --index, and a bad date', () => {
    expect(() => parseClinicArgs(['--card', 'X1'], { today })).toThrow(UsageError);
    expect(() => parseClinicArgs(['--card', 'C00000000012', '--index', '13'], { today })).toThrow(UsageError);
    expect(() => parseClinicArgs(['--index', '1', '--date', '1 June'], { today })).toThrow(UsageError);
    expect(() => parseClinicArgs([], { today })).toThrow(/--card or --index/);
  });

  it('defaults the servers to HOST, PORT and INSURER_PORT of the environment', () => {
    expect(
      parseClinicArgs(['--index', '3'], { today, env: { PORT: '3900', INSURER_PORT: '3901' } }),
    ).toMatchObject({ url: 'http://127.0.0.1:3900', insurerUrl: 'http://127.0.0.1:3901' });
    expect(parseClinicArgs(['--index', '3'], { today, env: { HOST: '::' } })).toMatchObject({
      url: 'http://[::1]:3000',
      insurerUrl: 'http://[::1]:3001',
    });
    expect(
      parseClinicArgs(['--index', '3', '--url', 'http://a:1', '--insurer-url', 'http://b:2'], {
        today,
        env: { PORT: '3900' },
      }),
    ).toMatchObject({ url: 'http://a:1', insurerUrl: 'http://b:2' });
    expect(() => parseClinicArgs(['--index', '3'], { today, env: { INSURER_PORT: '0' } })).toThrow(
      /--insurer-url/,
    );
  });

  it('names an unknown option in one line', () => {
    expect(() => parseClinicArgs(['--index', '3', '--wat'], { today })).toThrow(
      new UsageError('unknown option --wat'),
    );
  });

  it('resolves a typed index to its card and leaves anything else as typed', () => {
    expect(resolveCard(' 7 ')).toBe('C00000000007');
    expect(resolveCard('<b>')).toBe('<b>');
  });

  it('knows the designated clinic of a demo person, and none for a foreign card', () => {
    expect(designatedInstitutionFor('C00000000012')).toMatch(/^131\d{7}$/);
    expect(designatedInstitutionFor('X')).toBeUndefined();
  });
});

describe('demo data and today', () => {
  it('knows a demo person’s entitlement for the fiscal year of a reference date', () => {
    expect(demoEntitlementFor('C00000000003', { referenceDate: '2027-02-14' })).toMatchObject({
      validFrom: '2026-04-01',
      validTo: '2027-03-31',
    });
    expect(demoEntitlementFor('C00000000003', { referenceDate: '2027-04-01' })).toMatchObject({
      validFrom: '2027-04-01',
      validTo: '2028-03-31',
    });
    expect(demoEntitlementFor('C00000000003', { referenceDate: '2027-04-01' })?.institutionCode).toBe(
      designatedInstitutionFor('C00000000003'),
    );
  });

  it('points a date of care outside this fiscal year to one in it, or to registering that year', () => {
    const hint = demoHint('C00000000003', '2025-06-01', '2026-11-30') ?? '';
    expect(hint).toContain('2026-04-01〜2027-03-31');
    expect(hint).toContain('--reference-date 2025-06-01');
    expect(demoHint('C00000000003', '2026-11-30', '2026-11-30')).toContain(
      'npm run sim:case-system -- --subjects 4',
    );
  });
});
