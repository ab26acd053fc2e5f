import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  insurerNumberCheckDigit,
  isNationalProgramme,
  isValidInstitutionCode,
  isValidInsurerNumber,
  isValidMunicipalityCode,
  isValidMyNumber,
  isValidNationalRecipientNumber,
  luhnCheckDigit,
  municipalityCodeCheckDigit,
  myNumberCheckDigit,
  NATIONAL_PROGRAMME_LAW_CODES,
  recipientNumberCheckDigit,
  withInsurerCheckDigit,
  withLuhnCheckDigit,
  withMunicipalityCheckDigit,
  withMyNumberCheckDigit,
  withRecipientCheckDigit,
} from '../../src/japanese/index.js';

const digits = (length: number) =>
  fc.array(fc.integer({ min: 0, max: 9 }), { minLength: length, maxLength: length }).map((a) => a.join(''));

/** Replaces the digit at `index` by (digit + delta) mod 10, delta in 1..9. */
function mutate(s: string, index: number, delta: number): string {
  const d = (Number(s[index]) + delta) % 10;
  return s.slice(0, index) + d + s.slice(index + 1);
}

const mutation = (length: number) =>
  fc.record({ index: fc.integer({ min: 0, max: length - 1 }), delta: fc.integer({ min: 1, max: 9 }) });

/** DOMAIN.md: r = Σ P(n)·Q(n) mod 11, P(n) the n-th digit from the right of the 11-digit base. */
function myNumberResidue(base11: string): number {
  let sum = 0;
  for (let n = 1; n <= 11; n++) {
    const p = Number(base11[11 - n]);
    sum += p * (n <= 6 ? n + 1 : n - 5);
  }
  return sum % 11;
}

/** DOMAIN.md: Σ d·(6,5,4,3,2) mod 11 over the 5-digit base. */
function municipalityResidue(base5: string): number {
  return [6, 5, 4, 3, 2].reduce((sum, w, i) => sum + w * Number(base5[i]), 0) % 11;
}

describe('個人番号 (My Number)', () => {
  it('computes the check digit from the DOMAIN.md weights', () => {
    expect(myNumberCheckDigit('12345678901')).toBe(8);
    expect(isValidMyNumber('123456789018')).toBe(true);
  });

  it('gives check digit 0 when the residue is 0 or 1', () => {
    fc.assert(
      fc.property(digits(11), (base) => {
        const r = myNumberResidue(base);
        expect(myNumberCheckDigit(base)).toBe(r <= 1 ? 0 : 11 - r);
      }),
    );
  });

  it('refuses a wrong check digit', () => {
    expect(isValidMyNumber('123456789017')).toBe(false);
    expect(isValidMyNumber('123456789019')).toBe(false);
  });

  it('refuses wrong lengths, non-digits and full-width digits', () => {
    for (const s of [
      '',
      '12345678901',
      '1234567890180',
      '12345678901a',
      '１２３４５６７８９０１８',
      ' 123456789018',
    ]) {
      expect(isValidMyNumber(s)).toBe(false);
    }
  });

  it('throws on a malformed base', () => {
    expect(() => myNumberCheckDigit('1234567890')).toThrow(RangeError);
    expect(() => myNumberCheckDigit('1234567890x')).toThrow(RangeError);
    expect(() => withMyNumberCheckDigit('123456789012')).toThrow(RangeError);
  });

  it('makes a valid number from any 11 digits', () => {
    fc.assert(fc.property(digits(11), (base) => isValidMyNumber(withMyNumberCheckDigit(base))));
  });

  it('accepts a single-digit change only when residues 0 and 1 collide on check digit 0', () => {
    fc.assert(
      fc.property(digits(11), mutation(12), (base, { index, delta }) => {
        const changed = mutate(withMyNumberCheckDigit(base), index, delta);
        const collides =
          index < 11 && myNumberResidue(base) <= 1 && myNumberResidue(changed.slice(0, 11)) <= 1;
        expect(isValidMyNumber(changed)).toBe(collides);
      }),
      { numRuns: 2000 },
    );
  });

  it('always refuses a changed check digit', () => {
    fc.assert(
      fc.property(digits(11), fc.integer({ min: 1, max: 9 }), (base, delta) => {
        expect(isValidMyNumber(mutate(withMyNumberCheckDigit(base), 11, delta))).toBe(false);
      }),
    );
  });

  it('lets one single-digit typo through: 00000000000 and 00000000006 both end in 0', () => {
    expect(myNumberResidue('00000000000')).toBe(0);
    expect(myNumberResidue('00000000006')).toBe(1);
    expect(isValidMyNumber('000000000000')).toBe(true);
    expect(isValidMyNumber('000000000060')).toBe(true);
  });
});

describe('公費負担者番号 (insurer number)', () => {
  it.each(['54016027', '88134457', '33120015', '81136244'])('accepts the known-valid %s', (s) => {
    expect(isValidInsurerNumber(s)).toBe(true);
    expect(insurerNumberCheckDigit(s.slice(0, 7))).toBe(Number(s[7]));
  });

  it('refuses a wrong check digit', () => {
    expect(isValidInsurerNumber('54016028')).toBe(false);
    expect(isValidInsurerNumber('88134450')).toBe(false);
  });

  it('refuses wrong lengths and non-digits', () => {
    for (const s of ['', '5401602', '540160270', '5401602a', '５４０１６０２７']) {
      expect(isValidInsurerNumber(s)).toBe(false);
    }
    expect(() => insurerNumberCheckDigit('540160')).toThrow(RangeError);
  });

  it('makes a valid number from any 7 digits, and any single-digit change is refused', () => {
    fc.assert(
      fc.property(digits(7), mutation(8), (base, { index, delta }) => {
        const full = withInsurerCheckDigit(base);
        expect(isValidInsurerNumber(full)).toBe(true);
        expect(isValidInsurerNumber(mutate(full, index, delta))).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('公費受給者番号 (national recipient number)', () => {
  it('accepts the known-valid 9603283', () => {
    expect(isValidNationalRecipientNumber('9603283')).toBe(true);
    expect(recipientNumberCheckDigit('960328')).toBe(3);
  });

  it('refuses a wrong check digit, wrong lengths and non-digits', () => {
    for (const s of ['9603284', '9603280', '960328', '96032830', '960328x', '']) {
      expect(isValidNationalRecipientNumber(s)).toBe(false);
    }
    expect(() => recipientNumberCheckDigit('96032')).toThrow(RangeError);
  });

  it('makes a valid number from any 6 digits, and any single-digit change is refused', () => {
    fc.assert(
      fc.property(digits(6), mutation(7), (base, { index, delta }) => {
        const full = withRecipientCheckDigit(base);
        expect(isValidNationalRecipientNumber(full)).toBe(true);
        expect(isValidNationalRecipientNumber(mutate(full, index, delta))).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('national programmes (法別番号)', () => {
  it.each(['12', '15', '16', '21'])('lists law code %s', (code) => {
    expect(NATIONAL_PROGRAMME_LAW_CODES.has(code)).toBe(true);
  });

  it('recognises 自立支援医療 精神通院 (21) and 生活保護 (12) insurer numbers', () => {
    expect(isNationalProgramme('21136015')).toBe(true);
    expect(isNationalProgramme(withInsurerCheckDigit('1213001'))).toBe(true);
  });

  it('does not treat local programme codes such as 81 or 88 as national', () => {
    expect(isNationalProgramme('81136244')).toBe(false);
    expect(isNationalProgramme('88134457')).toBe(false);
  });

  it('answers false for inputs too short or not starting with two digits', () => {
    for (const s of ['', '2', '2a136015', '２１136015']) expect(isNationalProgramme(s)).toBe(false);
  });

  it('agrees with the exported set for every two-digit prefix', () => {
    for (let n = 0; n < 100; n++) {
      const code = String(n).padStart(2, '0');
      expect(isNationalProgramme(`${code}13601`)).toBe(NATIONAL_PROGRAMME_LAW_CODES.has(code));
    }
  });
});

describe('全国地方公共団体コード (municipality code)', () => {
  it.each(['130001', '140007', '131016', '131121'])('accepts the known-valid %s', (s) => {
    expect(isValidMunicipalityCode(s)).toBe(true);
    expect(municipalityCodeCheckDigit(s.slice(0, 5))).toBe(Number(s[5]));
  });

  it('refuses a wrong check digit, wrong lengths and non-digits', () => {
    for (const s of ['130002', '131010', '13000', '1300010', '13000a', '']) {
      expect(isValidMunicipalityCode(s)).toBe(false);
    }
    expect(() => municipalityCodeCheckDigit('1300')).toThrow(RangeError);
  });

  it('makes a valid code from any 5 digits', () => {
    fc.assert(fc.property(digits(5), (base) => isValidMunicipalityCode(withMunicipalityCheckDigit(base))));
  });

  it('accepts a single-digit change only when residues 0 and 10 collide on check digit 1', () => {
    fc.assert(
      fc.property(digits(5), mutation(6), (base, { index, delta }) => {
        const changed = mutate(withMunicipalityCheckDigit(base), index, delta);
        const r0 = municipalityResidue(base);
        const r1 = municipalityResidue(changed.slice(0, 5));
        const collides = index < 5 && (r0 === 0 || r0 === 10) && (r1 === 0 || r1 === 10);
        expect(isValidMunicipalityCode(changed)).toBe(collides);
      }),
      { numRuns: 2000 },
    );
  });

  it('lets one single-digit typo through: 00000 and 00005 both end in 1', () => {
    expect(municipalityResidue('00005')).toBe(10);
    expect(isValidMunicipalityCode('000001')).toBe(true);
    expect(isValidMunicipalityCode('000051')).toBe(true);
  });
});

describe('医療機関コード (institution code, Luhn)', () => {
  it('accepts the known-valid 0110113719', () => {
    expect(isValidInstitutionCode('0110113719')).toBe(true);
    expect(luhnCheckDigit('011011371')).toBe(9);
  });

  it('refuses a wrong check digit, wrong lengths and non-digits', () => {
    for (const s of ['0110113710', '0110113718', '011011371', '01101137190', '011011371x', '']) {
      expect(isValidInstitutionCode(s)).toBe(false);
    }
    expect(() => luhnCheckDigit('01101137')).toThrow(RangeError);
  });

  it('makes a valid code from any 9 digits, and any single-digit change is refused', () => {
    fc.assert(
      fc.property(digits(9), mutation(10), (base, { index, delta }) => {
        const full = withLuhnCheckDigit(base);
        expect(isValidInstitutionCode(full)).toBe(true);
        expect(isValidInstitutionCode(mutate(full, index, delta))).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });
});
