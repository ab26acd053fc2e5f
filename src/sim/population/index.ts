/**
 * Deterministic synthetic population and 自立支援医療（精神通院） records for simulators.
 *
 * @example import { registrationRecords, toCsvHeader, toCsvRow } from '../population/index.js';
 */

export {
  FAMILY_NAMES,
  FEMALE_GIVEN_NAMES,
  MALE_GIVEN_NAMES,
  type NameReading,
  TOKYO_WARDS,
  type Ward,
} from './names.js';
export {
  CERTIFICATE_TYPE_ID,
  CERTIFICATION_NAME,
  CORRUPTION_KINDS,
  type CorruptionKind,
  corruptRecord,
  createRandom,
  DEFAULT_REFERENCE_DATE,
  type FiscalYear,
  fiscalYearOf,
  type GeneratedRecord,
  generatePerson,
  INCOME_SEGMENTS,
  type IncomeSegment,
  monthlyCap,
  myNumberFor,
  type Person,
  type PopulationOptions,
  population,
  type Random,
  type RecordOptions,
  registrationRecords,
  toCsvHeader,
  toCsvRow,
  toRegistrationRecord,
} from './population.js';
