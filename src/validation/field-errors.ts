import type { z } from 'zod';

/**
 * The closed list of per-field error codes. Each answer names the failing field by JSON
 * pointer and one of these codes — never the value (a 個人番号 must not echo back).
 */
export const FIELD_CODES = {
  required: 'required',
  invalidType: 'invalid-type',
  invalidFormat: 'invalid-format',
  tooLong: 'too-long',
  tooShort: 'too-short',
  tooBig: 'too-big',
  tooSmall: 'too-small',
  notAllowedValue: 'not-allowed-value',
  unknownField: 'unknown-field',
  myNumberCheckDigit: 'my-number-check-digit',
  insurerNumberCheckDigit: 'insurer-number-check-digit',
  recipientNumberCheckDigit: 'recipient-number-check-digit',
  municipalityCodeCheckDigit: 'municipality-code-check-digit',
  institutionCodeCheckDigit: 'institution-code-check-digit',
  invalidDate: 'invalid-date',
  outsideEra: 'outside-era',
  validFromAfterValidTo: 'valid-from-after-valid-to',
  invalidKana: 'invalid-kana',
  invalidBoolean: 'invalid-boolean',
  invalidNumber: 'invalid-number',
  invalidJsonCell: 'invalid-json-cell',
  duplicateKeyInFile: 'duplicate-key-in-file',
  csvStrayQuote: 'csv-stray-quote',
  csvUnterminatedQuote: 'csv-unterminated-quote',
  csvColumnCount: 'csv-column-count',
} as const;

/** One of {@link FIELD_CODES}. */
export type FieldCode = (typeof FIELD_CODES)[keyof typeof FIELD_CODES];

/** One failing field: `pointer` is an RFC 6901 JSON pointer into the record (or the batch). */
export interface FieldError {
  index?: number;
  pointer: string;
  code: FieldCode;
}

const ZOD_TO_FIELD: Record<string, FieldCode> = {
  invalid_type: FIELD_CODES.invalidType,
  invalid_format: FIELD_CODES.invalidFormat,
  invalid_value: FIELD_CODES.notAllowedValue,
  invalid_union: FIELD_CODES.notAllowedValue,
  unrecognized_keys: FIELD_CODES.unknownField,
};

/** Escapes one JSON-pointer segment (RFC 6901). */
export function pointerSegment(s: string | number): string {
  return String(s).replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * Turns zod issues into {@link FieldError}s: a JSON pointer and a stable code, never the
 * value. `indexed` reads the first path segment as the record's index in a batch.
 *
 * @example
 * toFieldErrors(result.error.issues, true); // [{ index: 3, pointer: '/3/myNumber', code: 'my-number-check-digit' }]
 */
export function toFieldErrors(issues: readonly z.core.$ZodIssue[], indexed: boolean): FieldError[] {
  const out: FieldError[] = [];
  for (const issue of issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    let code: FieldCode;
    if (issue.code === 'custom')
      code = (issue.params?.code as FieldCode | undefined) ?? FIELD_CODES.invalidFormat;
    else if (issue.code === 'invalid_type') {
      code =
        (issue as { input?: unknown }).input === undefined && issue.message.endsWith('undefined')
          ? FIELD_CODES.required
          : FIELD_CODES.invalidType;
    } else if (issue.code === 'too_big')
      code = issue.origin === 'string' ? FIELD_CODES.tooLong : FIELD_CODES.tooBig;
    else if (issue.code === 'too_small')
      code = issue.origin === 'string' ? FIELD_CODES.tooShort : FIELD_CODES.tooSmall;
    else code = ZOD_TO_FIELD[issue.code] ?? FIELD_CODES.invalidFormat;
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        out.push(withIndex([...path, key], code, indexed));
      }
      continue;
    }
    out.push(withIndex(path, code, indexed));
  }
  return out;
}

function withIndex(path: (string | number)[], code: FieldCode, indexed: boolean): FieldError {
  const pointer = path.length ? `/${path.map(pointerSegment).join('/')}` : '';
  if (indexed && typeof path[0] === 'number') return { index: path[0], pointer, code };
  return { pointer, code };
}
