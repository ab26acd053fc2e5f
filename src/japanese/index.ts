/**
 * Japanese identifier, date and kana helpers: pure functions used per row by the gateway
 * and by the simulators.
 *
 * Source: DOMAIN.md "Identifier formats"; GLOSSARY.md 和暦 (元号).
 * @example import { isValidMyNumber, parseJapaneseDate, normaliseKana } from '../japanese/index.js';
 */
export {
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
} from './check-digits.js';
export { type DateParseResult, isIsoDate, parseJapaneseDate, toEraString } from './era-date.js';
export { isKatakanaName, normaliseKana, normaliseWhitespace } from './kana.js';
