import { OpenAPIHono } from '@hono/zod-openapi';
import type { Logger } from 'pino';
import type { Principal } from '../../identity/index.js';
import { toFieldErrors } from '../../validation/index.js';
import { Problem } from './problem.js';

/** What middleware puts on the request context. */
export interface GatewayEnv {
  Variables: {
    requestId: string;
    logger: Logger;
    principal: Principal;
  };
}

/**
 * A router whose zod validation failures become the same problem+json as every other error.
 * JSON bodies that are arrays are read as batches: the first path segment is the index.
 *
 * @example
 * const router = createRouter();
 */
export function createRouter() {
  return new OpenAPIHono<GatewayEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw new Problem('validation-failed', toFieldErrors(result.error.issues, result.target === 'json'));
      }
    },
  });
}

/** A router as {@link createRouter} makes it. */
export type Router = ReturnType<typeof createRouter>;
