import { customType } from 'drizzle-orm/pg-core';

/**
 * A `bytea` column as a Node `Buffer`. drizzle 0.45 has no built-in bytea; postgres.js
 * returns `Buffer` and PGlite `Uint8Array`, so both are normalised here.
 *
 * @example
 * const t = pgTable('t', { sealed: bytea('sealed').notNull() });
 */
export const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => 'bytea',
  toDriver: (value) => value,
  fromDriver: (value) =>
    Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength),
});
