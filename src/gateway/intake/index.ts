export { type LinkageFileView, linkageFileViewSchema } from './intake.schemas.js';
export { type IntakeDeps, IntakeService, type RowOutcome, type UploadRefusal } from './intake.service.js';
export { linkageFileChunks, linkageFileRows, linkageFiles } from './intake.tables.js';
export { checkHeader, LINKAGE_COLUMNS, rowToRecord } from './linkage-columns.js';
export { type FailureClass, OutboxDispatcher, type PmhDeliveryPort } from './outbox.dispatcher.js';
export {
  type DeliveryView,
  deliveryViewSchema,
  type OutboxStatus,
  outboxStatusSchema,
  submissionAcceptedSchema,
  submissionViewSchema,
} from './outbox.schemas.js';
export { Outbox } from './outbox.service.js';
export { cachedOutboxStatus, prometheusText } from './outbox.status.js';
export { DELIVERY_STATES, type DeliveryState } from './outbox.tables.js';
