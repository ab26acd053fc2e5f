export { CircuitBreaker, type CircuitState } from '../gateway/http/circuit-breaker.js';
export {
  FIELD_CODES,
  type FieldCode,
  type FieldError,
  pointerSegment,
  toFieldErrors,
} from '../validation/index.js';
export { FHIR_MEDIA_TYPE, toCoverageBundle } from './lookups/fhir.js';
export { registerLookupRoutes } from './lookups/lookups.routes.js';
export {
  type LookupAnswer,
  type LookupEntitlement,
  lookupAnswerSchema,
  lookupEntitlementSchema,
} from './lookups/lookups.schemas.js';
export { type LookupCaller, LookupService } from './lookups/lookups.service.js';
export { READ_MODEL_SCOPE, refreshReadModel } from './lookups/read-model.js';
export { InProcessNumbering } from './numbering/in-process.js';
export {
  createInsurerDispatcher,
  InsurerHttpClient,
  type InsurerHttpClientOptions,
} from './numbering/insurer-http-client.js';
export { NumberingWorker, type NumberingWorkerDeps } from './numbering/numbering.worker.js';
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
export {
  entitlements,
  hubSchema,
  NUMBERING_STATUSES,
  type NumberingStatus,
  numberingQueue,
  subjects,
  submissions,
  tenants,
} from './pmh.tables.js';
export {
  ACCESS_HISTORY_LIMIT,
  type AccessEntry,
  type AccessHistory,
  accessHistorySchema,
  type ControlFlags,
  controlFlagsSchema,
  type EntitlementPatch,
  entitlementPatchSchema,
  MASKED_MY_NUMBER,
  type NumberingView,
  numberingViewSchema,
  type SubjectView,
  subjectViewSchema,
} from './pmh.views.js';
export { ensureTenant } from './tenants.js';
