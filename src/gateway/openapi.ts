import { randomBytes } from 'node:crypto';
import { openDatabase } from '../db/client.js';
import { createLogger } from './http/logger.js';
import { buildSystem } from './system.js';

/**
 * The gateway's OpenAPI 3.1 document, generated from the zod schemas of every route.
 *
 * @example
 * const doc = await generateOpenApiDocument();
 */
export async function generateOpenApiDocument(): Promise<unknown> {
  const database = await openDatabase({ memory: true });
  try {
    const system = await buildSystem({
      database,
      masterKey: randomBytes(32),
      logger: createLogger('silent'),
    });
    const res = await system.app.request('/openapi.json');
    return await res.json();
  } finally {
    await database.close();
  }
}
