export { PORTAL_CLI, PORTAL_USAGE, type PortalCliOptions, parsePortalArgs } from './args.js';
export { filePortalStore, memoryPortalStore, Portal, type PortalStore } from './portal.js';
