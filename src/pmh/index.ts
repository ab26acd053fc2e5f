export {
  FIELD_CODES,
  type FieldCode,
  type FieldError,
  pointerSegment,
  toFieldErrors,
} from '../validation/index.js';
export type { ChangeResult, HubCaller, PmhPort, Submission } from './pmh.port.js';
export { registerHubRoutes } from './pmh.routes.js';
export {
  basicFiveInfoSchema,
  dateField,
  myNumberField,
  RECORD_OUTCOMES,
  type RecordOutcome,
  type RecordResult,
  type RegistrationRecord,
  type RegistrationRecordInput,
  recordResultSchema,
  registrationBatchSchema,
  registrationRecordSchema,
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
