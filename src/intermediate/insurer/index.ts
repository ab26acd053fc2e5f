export { type BasicInfo, crossCheck, type CrossCheckResult } from './cross-check.js';
export * from './insurer.schemas.js';
export { INSURER_SCOPE, type InsuredPersonInput, InsurerService } from './insurer.service.js';
export { eligibilityLinks, insuredPersons, numberingRequests } from './insurer.tables.js';
export { newPmhId } from './pmh-id.js';
export { createInsurerApp, registerInsurerRoutes } from './insurer.routes.js';
