export { type BasicInfo, type CrossCheckResult, crossCheck } from './cross-check.js';
export { createInsurerApp, registerInsurerRoutes } from './insurer.routes.js';
export * from './insurer.schemas.js';
export {
  INSURER_SCOPE,
  type InsuredPersonInput,
  type InsuredRow,
  InsurerService,
} from './insurer.service.js';
export { eligibilityLinks, insuredPersons, numberingRequests } from './insurer.tables.js';
export { newPmhId } from './pmh-id.js';
