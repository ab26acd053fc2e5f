export { filePortalStore, memoryPortalStore, Portal, type PortalStore } from './portal.js';
