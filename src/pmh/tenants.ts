import type { Db } from '../db/client.js';
import { tenants } from './pmh.tables.js';

/**
 * Creates a tenant (municipality) when it does not exist yet.
 *
 * @example
 * await ensureTenant(db, '130001', '東京都');
 */
export async function ensureTenant(db: Db, municipalityCode: string, name: string): Promise<void> {
  await db.insert(tenants).values({ municipalityCode, name }).onConflictDoNothing();
}
