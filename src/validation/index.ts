export {
  FIELD_CODES,
  type FieldCode,
  type FieldError,
  pointerSegment,
  toFieldErrors,
} from './field-errors.js';
