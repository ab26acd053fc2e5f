export { type App, createApp } from './app.js';
export { formatCsvRow, parseCsv } from './intake/csv.js';
export { encodeCsv } from './intake/csv-writer.js';
export { type CsvEncoding, charsetFromContentType } from './intake/encoding.js';
export { LINKAGE_COLUMNS } from './intake/linkage-columns.js';
export { buildSystem, type System } from './system.js';
