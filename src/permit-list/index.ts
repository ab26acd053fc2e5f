/**
 * The permit list (照会許可用照合リスト): who may ask whom for which items under which 事務,
 * loaded from a versioned JSON file, replaceable at run time, and a pure `decide()`.
 *
 * Source: DOMAIN.md 5 "Inter-agency provision"; seed Ⅱ.5 提供先1–3, Ⅲ.6, ㉚.
 * @example
 * import { decide, loadPermitListFile, PermitListStore, SHIPPED_PERMIT_LIST_URL } from '../permit-list/index.js';
 * const store = new PermitListStore({ onChange: writeAudit });
 * await store.load(await loadPermitListFile(SHIPPED_PERMIT_LIST_URL));
 */
export {
  type CompiledPermitEntry,
  type CompiledPermitList,
  compilePermitList,
  decide,
  type PermitDecision,
  type PermitGranted,
  PermitListInvalidError,
  type PermitQuery,
  type PermitRefused,
} from './decide.js';
export { registerPermitListRoutes } from './permit-list.routes.js';
export {
  AGENCY_CLASS_PREFIX,
  AGENCY_KINDS,
  type Agency,
  type AgencyClass,
  type AgencyId,
  type AgencyKind,
  type AgencyRef,
  agencyClassSchema,
  agencyIdSchema,
  agencyRefSchema,
  agencySchema,
  type DataItem,
  dataItemSchema,
  expandAgencyRef,
  type LegalBasis,
  legalBasisSchema,
  PERMIT_REFUSAL_REASONS,
  type PermitEntry,
  type PermitListFile,
  type PermitListFileInput,
  type PermitListParseResult,
  type PermitRefusalReason,
  type PermitRequest,
  type Procedure,
  parsePermitListFile,
  permitEntrySchema,
  permitListFileSchema,
  permitRequestSchema,
  procedureSchema,
} from './permit-list.schemas.js';
export {
  loadPermitListFile,
  type PermitListChange,
  PermitListFileError,
  type PermitListReplaceOutcome,
  PermitListStore,
  type PermitListStoreOptions,
  type PermitListVersion,
  SHIPPED_PERMIT_LIST_URL,
} from './permit-list.service.js';
