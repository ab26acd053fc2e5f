export { createSimulatorPages, escapeHtml, type SimulatorPagesDeps } from './pages.js';
export {
  DemoDataError,
  type DemoSimulators,
  demoSimulators,
  type PortalVisit,
  visitPortal,
} from './wiring.js';
