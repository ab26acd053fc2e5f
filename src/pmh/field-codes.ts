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
