export { type LinkageFileView, linkageFileViewSchema } from './intake.schemas.js';
export { type IntakeDeps, IntakeService, type RowOutcome, type UploadRefusal } from './intake.service.js';
export { linkageFileChunks, linkageFileRows, linkageFiles } from './intake.tables.js';
export { checkHeader, LINKAGE_COLUMNS, rowToRecord } from './linkage-columns.js';
