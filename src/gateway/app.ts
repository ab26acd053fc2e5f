import { OpenAPIHono } from '@hono/zod-openapi';
import type { Logger } from 'pino';
import type { Database } from '../db/client.js';
import { appliedMigrationCount } from '../db/migrate.js';
import { createAuthenticator } from '../identity/index.js';
import { type ExchangeService, type Relay, registerExchangeRoutes } from '../intermediate/agency/index.js';
import { type PermitListStore, registerPermitListRoutes } from '../permit-list/index.js';
import { type LookupService, type PmhPort, registerHubRoutes, registerLookupRoutes } from '../pmh/index.js';
import { createRouter, type GatewayEnv } from './http/context.js';
import { DOCS_HTML } from './http/docs-page.js';
import { installProblemHandling } from './http/errors.js';
import { bearerAuth, requestContext } from './http/middleware.js';
import { PROBLEMS, Problem, type ProblemCode } from './http/problem.js';
import { type IntakeService, type Outbox, type OutboxStatus, prometheusText } from './intake/index.js';
import { registerIntakeRoutes } from './intake/intake.routes.js';
import { registerRegistrationRoutes } from './registration/registration.routes.js';

/** What the composed application needs. */
export interface AppDeps {
  database: Database;
  /** What the municipality-side API talks to: the embedded hub, or the remote PMH adapter. */
  hub: PmhPort;
  /** The hub in this process, whose own API is mounted under /pmh/v1 (absent in remote mode). */
  embeddedHub?: PmhPort | undefined;
  /** Remote mode: registrations are queued here for PMH. */
  outbox?: Outbox | undefined;
  outboxStatus?: () => Promise<OutboxStatus | undefined>;
  intake: IntakeService;
  lookups: LookupService;
  permitList: PermitListStore;
  exchange: ExchangeService;
  relay: Relay;
  clock: () => Date;
  logger: Logger;
  version?: string;
}

/** The OpenAPI document's fixed part. */
export const OPENAPI_INFO = {
  openapi: '3.1.0',
  info: {
    title: 'pmh-gateway',
    version: '0.1.0',
    description:
      'Gateway for Public Medical Hub (PMH) medical-subsidy linkage: municipal case systems register subjects (対象者情報) and entitlements (医療助成資格情報). Errors are application/problem+json (RFC 9457).',
  },
} as const;

/**
 * Composes the gateway: the municipality-side API under `/api/v1`, the hub's own API under
 * `/pmh/v1`, health, OpenAPI and docs, with one error vocabulary for all of it.
 *
 * @example
 * const app = createApp({ database, hub, intake, logger });
 * await app.request('/healthz');
 */
export function createApp(deps: AppDeps) {
  const app = new OpenAPIHono<GatewayEnv>();
  app.use('*', requestContext(deps.logger));

  installProblemHandling(app);

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const applied = await appliedMigrationCount(deps.database);
    const ready = applied !== undefined && applied > 0;
    return c.json(
      { status: ready ? 'ready' : 'not-ready', database: deps.database.kind, migrations: applied ?? null },
      ready ? 200 : 503,
    );
  });
  app.get('/status', async (c) => {
    const outbox = await deps.outboxStatus?.();
    return c.json({
      status: outbox?.alert ? 'alert' : 'ok',
      pmhMode: deps.outbox ? 'remote' : 'embedded',
      database: deps.database.kind,
      ...(outbox ? { outbox } : {}),
    });
  });
  app.get('/metrics', async (c) => {
    const outbox = await deps.outboxStatus?.();
    return c.text(prometheusText(outbox), 200, {
      'content-type': 'text/plain; version=0.0.4; charset=utf-8',
    });
  });
  app.get('/problems/:code', (c) => {
    const code = c.req.param('code') as ProblemCode;
    const p = PROBLEMS[code];
    if (!p) throw new Problem('not-found');
    return c.json({ type: `/problems/${code}`, code, status: p.status, title: p.title, detail: p.detail });
  });

  const authenticate = createAuthenticator(deps.database.db);
  const api = createRouter();
  api.use('*', bearerAuth(authenticate));
  registerRegistrationRoutes(api, { hub: deps.hub, ...(deps.outbox ? { outbox: deps.outbox } : {}) });
  registerIntakeRoutes(api, { intake: deps.intake });
  app.route('/api/v1', api);

  // In remote mode PMH is elsewhere: the local hub's API is not offered, so nothing lands in it by mistake.
  if (deps.embeddedHub) {
    const pmh = createRouter();
    pmh.use('*', bearerAuth(authenticate));
    registerHubRoutes(pmh, { hub: deps.embeddedHub });
    registerLookupRoutes(pmh, { lookups: deps.lookups, clock: deps.clock });
    app.route('/pmh/v1', pmh);
  }

  const exchange = createRouter();
  exchange.use('*', bearerAuth(authenticate));
  registerPermitListRoutes(exchange, { permitList: deps.permitList });
  registerExchangeRoutes(exchange, { exchange: deps.exchange, relay: deps.relay });
  app.route('/exchange/v1', exchange);

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description: 'A system client token, bound to one tenant and one business',
  });
  app.doc31('/openapi.json', OPENAPI_INFO);
  app.get('/docs', (c) => c.html(DOCS_HTML));
  return app;
}

/** The composed application. */
export type App = ReturnType<typeof createApp>;
