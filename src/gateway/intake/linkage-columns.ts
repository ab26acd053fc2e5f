import { FIELD_CODES, type FieldError } from '../../pmh/index.js';

type Kind = 'string' | 'boolean' | 'number' | 'json';

/**
 * The columns a linkage file may have: the PMH field names, nested fields dotted, lists
 * as a JSON array in one cell (docs/LINKAGE-FILE.md).
 */
export const LINKAGE_COLUMNS: Readonly<Record<string, Kind>> = {
  modificationSeg: 'string',
  myNumber: 'string',
  municipalityIdentityKey: 'string',
  'basicFiveInfo.name': 'string',
  'basicFiveInfo.nameKana': 'string',
  'basicFiveInfo.address': 'string',
  'basicFiveInfo.dateOfBirth': 'string',
  'basicFiveInfo.sex': 'string',
  orgSpecificCertificateTypeId: 'string',
  certificationSubKey: 'string',
  certificationName: 'string',
  certificateId: 'string',
  segment: 'string',
  publicExpenseId: 'string',
  medicalSubsidyInsurerNumber: 'string',
  medicalSubsidyRecipientNumber: 'string',
  isNotDisclosed: 'boolean',
  isAlwaysReimbursement: 'string',
  incomeSegment: 'string',
  severeAndContinuing: 'boolean',
  additionalConditions: 'string',
  'maxCopaymentAmount.capId': 'string',
  'maxCopaymentAmount.capKind': 'string',
  'maxCopaymentAmount.definition': 'string',
  'maxCopaymentAmount.rate': 'number',
  'maxCopaymentAmount.amount': 'number',
  'maxCopaymentAmount.count': 'number',
  designatedMedicalInstitutions: 'json',
  validFrom: 'string',
  validTo: 'string',
  forcedExpiryDate: 'string',
  historyKey: 'string',
  isDeleted: 'boolean',
  certificationDetail: 'json',
};

/** Columns every linkage file must have. */
export const REQUIRED_COLUMNS = ['modificationSeg', 'myNumber', 'orgSpecificCertificateTypeId'] as const;

/** A header that cannot be used, with the reasons by column. */
export interface HeaderProblem {
  errors: FieldError[];
}

/** A checked header: the columns in file order, ready to map rows. */
export interface LinkageHeader {
  columns: readonly string[];
  /** Each column's kind and place in a record, worked out once for all rows. */
  readonly slots: readonly ColumnSlot[];
}

/** Where a column's cell goes: a field, or a field of a nested object, and its JSON pointer. */
interface ColumnSlot {
  kind: Kind;
  /** The field, or the nested object's field. */
  name: string;
  /** The nested object (`basicFiveInfo`), if the column is dotted. */
  parent?: string;
  pointer: string;
}

function slotOf(column: string): ColumnSlot {
  const kind = LINKAGE_COLUMNS[column] as Kind;
  const dot = column.indexOf('.');
  if (dot < 0) return { kind, name: column, pointer: `/${column}` };
  const parent = column.slice(0, dot);
  const name = column.slice(dot + 1);
  return { kind, name, parent, pointer: `/${parent}/${name}` };
}

/**
 * Checks a header row: every name known, none twice, the required ones present.
 *
 * @example
 * checkHeader(['modificationSeg', 'myNumber', 'basicFiveInfo.name']);
 */
export function checkHeader(fields: readonly string[]): LinkageHeader | HeaderProblem {
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  fields.forEach((raw, i) => {
    const name = raw.trim();
    if (!(name in LINKAGE_COLUMNS))
      errors.push({ index: i, pointer: `/header/${i}`, code: FIELD_CODES.unknownField });
    else if (seen.has(name))
      errors.push({ index: i, pointer: `/header/${i}`, code: FIELD_CODES.notAllowedValue });
    seen.add(name);
  });
  for (const name of REQUIRED_COLUMNS) {
    if (!seen.has(name)) errors.push({ pointer: `/header/${name}`, code: FIELD_CODES.required });
  }
  if (errors.length) return { errors };
  const columns = fields.map((f) => f.trim());
  return { columns, slots: columns.map(slotOf) };
}

const TRUE = new Set(['1', 'true', 'TRUE', 'True']);
const FALSE = new Set(['0', 'false', 'FALSE', 'False']);

/**
 * Turns one CSV row into a record object for the registration schema. Empty cells are
 * left out; booleans accept 0/1/true/false; lists are JSON arrays.
 *
 * @example
 * rowToRecord(header, ['1', '123456789018', …]); // { record: { modificationSeg: '1', … }, errors: [] }
 */
export function rowToRecord(
  header: LinkageHeader,
  fields: readonly string[],
): { record: Record<string, unknown>; errors: FieldError[] } {
  const record: Record<string, unknown> = {};
  const errors: FieldError[] = [];
  const { slots } = header;
  for (let i = 0; i < slots.length; i++) {
    const cell = fields[i];
    if (cell === undefined || cell === '') continue;
    const slot = slots[i] as ColumnSlot;
    const kind = slot.kind;
    let value: unknown = cell;
    if (kind === 'boolean') {
      if (TRUE.has(cell)) value = true;
      else if (FALSE.has(cell)) value = false;
      else {
        errors.push({ pointer: slot.pointer, code: FIELD_CODES.invalidBoolean });
        continue;
      }
    } else if (kind === 'number') {
      const n = Number(cell);
      if (cell.trim() === '' || !Number.isFinite(n)) {
        errors.push({ pointer: slot.pointer, code: FIELD_CODES.invalidNumber });
        continue;
      }
      value = n;
    } else if (kind === 'json') {
      try {
        value = JSON.parse(cell);
      } catch {
        errors.push({ pointer: slot.pointer, code: FIELD_CODES.invalidJsonCell });
        continue;
      }
    }
    if (slot.parent === undefined) record[slot.name] = value;
    else {
      let child = record[slot.parent] as Record<string, unknown> | undefined;
      if (child === undefined) {
        child = {};
        record[slot.parent] = child;
      }
      child[slot.name] = value;
    }
  }
  return { record, errors };
}
