export { FIELD_CODES, type FieldCode, type FieldError } from './field-codes.js';
export type { ChangeResult, HubCaller, PmhPort, Submission } from './pmh.port.js';
export {
  basicFiveInfoSchema,
  dateField,
  myNumberField,
  pointerSegment,
  RECORD_OUTCOMES,
  type RecordOutcome,
  type RecordResult,
  type RegistrationRecord,
  type RegistrationRecordInput,
  recordResultSchema,
  registrationBatchSchema,
  registrationRecordSchema,
  toFieldErrors,
  type UpsertRecord,
} from './pmh.schemas.js';
export { PmhService } from './pmh.service.js';
export { entitlements, hubSchema, subjects, submissions, tenants } from './pmh.tables.js';
export {
  type ControlFlags,
  controlFlagsSchema,
  type EntitlementPatch,
  entitlementPatchSchema,
  MASKED_MY_NUMBER,
  type SubjectView,
  subjectViewSchema,
} from './pmh.views.js';
export { ensureTenant } from './tenants.js';
