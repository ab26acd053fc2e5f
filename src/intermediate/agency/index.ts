export {
  agencies,
  INQUIRY_STATUSES,
  type InquiryStatus,
  inquiries,
  provisionCodes,
  replicas,
} from './agency.tables.js';
export { registerExchangeRoutes } from './exchange.routes.js';
export {
  EXCHANGE_AUDIT_CHAIN,
  ExchangeService,
  type InquiryView,
  type PendingRelease,
  type ReplicaRecord,
} from './exchange.service.js';
export { Relay, type RelayRefusal } from './relay.js';
