import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { GatewayEnv, Router } from '../../gateway/http/context.js';
import { requireScope } from '../../gateway/http/middleware.js';
import { COMMON_PROBLEMS, jsonContent, Problem, problemResponse } from '../../gateway/http/problem.js';
import { SCOPES } from '../../identity/index.js';
import { myNumberField } from '../../pmh/index.js';
import type { ExchangeService } from './exchange.service.js';
import type { Relay } from './relay.js';

const TAG = 'Exchange';
const security = [{ bearerAuth: [] }];
const code = z.string().regex(/^[A-Za-z0-9._:-]{1,80}$/);
const operatorHeader = z.object({ 'x-operator': z.string().min(1).max(100) });
const inquiryParams = z.object({ inquiryId: z.uuid().openapi({ param: { name: 'inquiryId', in: 'path' } }) });

const inquiryView = z
  .object({
    inquiryId: z.uuid(),
    requestId: z.string(),
    status: z.enum(['refused', 'awaiting-release', 'answered', 'refused-by-provider']),
    reason: z.string().optional(),
    provisionPermit: z
      .object({
        permitId: z.string(),
        entryId: z.string(),
        route: z.object({ from: z.string(), to: z.string() }),
      })
      .optional(),
    answer: z.unknown().optional().openapi({
      description:
        "Sealed for the requester's certificate (RSA-OAEP-SHA256 + AES-256-GCM); AAD `inquiry:<inquiryId>`",
    }),
    createdAt: z.string(),
    completedAt: z.string().optional(),
  })
  .openapi('Inquiry');
const json = jsonContent;

const registerReplicas = createRoute({
  method: 'post',
  path: '/replicas',
  operationId: 'registerReplicas',
  tags: [TAG],
  summary: 'Register replicas (副本) through the relay (the providing agency’s case system)',
  security,
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .strictObject({
              procedure: code,
              records: z
                .array(
                  z.strictObject({ myNumber: myNumberField, items: z.record(code, z.string().max(2000)) }),
                )
                .min(1)
                .max(5000),
            })
            .openapi('ReplicaRegistration'),
        },
      },
    },
  },
  responses: {
    200: json(
      z.object({ requestId: z.string(), stored: z.number().int() }),
      'Stored; the caller’s request id is echoed',
    ),
    ...COMMON_PROBLEMS,
    403: problemResponse('The caller does not provide this procedure or these items'),
  },
});

const issueProvisionCode = createRoute({
  method: 'post',
  path: '/provision-codes',
  operationId: 'issueProvisionCode',
  tags: [TAG],
  summary: 'The calling agency’s own provision code (符号) for a person',
  security,
  request: {
    body: {
      required: true,
      content: { 'application/json': { schema: z.strictObject({ myNumber: myNumberField }) } },
    },
  },
  responses: { 200: json(z.object({ provisionCode: z.string() }), 'The code'), ...COMMON_PROBLEMS },
});

const submitInquiry = createRoute({
  method: 'post',
  path: '/inquiries',
  operationId: 'submitInquiry',
  tags: [TAG],
  summary: 'Inquire (情報照会): checked against the permit list; answered automatically or held for release',
  security,
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .strictObject({
              providerId: code,
              procedure: code,
              provisionCode: code,
              items: z.array(code).min(1).max(50),
            })
            .openapi('InquiryRequest'),
        },
      },
    },
  },
  responses: {
    201: json(inquiryView, 'Permitted: answered, or held for a manual release'),
    ...COMMON_PROBLEMS,
    403: problemResponse(
      'Not permitted by the permit list (inquiry-not-permitted, with the reason); nothing was sent',
    ),
  },
});

const getInquiryResult = createRoute({
  method: 'get',
  path: '/inquiries/{inquiryId}',
  operationId: 'getInquiryResult',
  tags: [TAG],
  summary: 'The requester’s inquiry and, once answered, its sealed answer',
  security,
  request: { params: inquiryParams },
  responses: {
    200: json(inquiryView, 'The inquiry'),
    404: problemResponse('No such inquiry of this agency'),
    ...COMMON_PROBLEMS,
  },
});

const listPendingReleases = createRoute({
  method: 'get',
  path: '/releases',
  operationId: 'listPendingReleases',
  tags: [TAG],
  summary:
    'Answers held because an item is flagged 自動応答不可, with their content, for the provider’s staff',
  security,
  responses: {
    200: json(
      z.object({
        pending: z.array(
          z.object({
            inquiryId: z.string(),
            requestId: z.string(),
            requesterId: z.string(),
            procedure: z.string(),
            heldItems: z.array(z.string()),
            content: z.record(z.string(), z.string().nullable()),
            createdAt: z.string(),
          }),
        ),
      }),
      'Pending releases',
    ),
    ...COMMON_PROBLEMS,
  },
});

const releaseAnswer = createRoute({
  method: 'post',
  path: '/releases/{inquiryId}/release',
  operationId: 'releaseAnswer',
  tags: [TAG],
  summary: 'Release a held answer after re-checking it (the operator is recorded)',
  security,
  request: { params: inquiryParams, headers: operatorHeader },
  responses: {
    200: json(inquiryView, 'Released and delivered'),
    404: problemResponse('No such held answer'),
    ...COMMON_PROBLEMS,
  },
});

const refuseAnswer = createRoute({
  method: 'post',
  path: '/releases/{inquiryId}/refuse',
  operationId: 'refuseAnswer',
  tags: [TAG],
  summary: 'Refuse a held answer (the operator and the reason are recorded)',
  security,
  request: {
    params: inquiryParams,
    headers: operatorHeader,
    body: {
      required: true,
      content: { 'application/json': { schema: z.strictObject({ reason: z.string().min(1).max(500) }) } },
    },
  },
  responses: {
    200: json(inquiryView, 'Refused'),
    404: problemResponse('No such held answer'),
    ...COMMON_PROBLEMS,
  },
});

const REPORTS = ['replicas', 'provision-status', 'errors'] as const;
const getReconciliationReport = createRoute({
  method: 'get',
  path: '/reconciliation/{report}',
  operationId: 'getReconciliationReport',
  tags: [TAG],
  summary:
    'Reconciliation for the provider: replica export, provision-status check list, error check list (CSV or JSON)',
  description:
    '`replicas`: every replica opened, to compare with the master (正本); `provision-status`: inquiries by requester, procedure and state; `errors`: people whose replicas lack some of the items a procedure provides. `?format=csv` answers text/csv (UTF-8).',
  security,
  request: {
    params: z.object({ report: z.enum(REPORTS).openapi({ param: { name: 'report', in: 'path' } }) }),
    query: z.object({ format: z.enum(['json', 'csv']).default('json') }),
  },
  responses: {
    200: {
      description: 'The report',
      content: {
        'application/json': { schema: z.object({ rows: z.array(z.record(z.string(), z.unknown())) }) },
        'text/csv': { schema: z.string() },
      },
    },
    ...COMMON_PROBLEMS,
  },
});

function csvCell(value: unknown): string {
  const text = Array.isArray(value) ? value.join(';') : String(value ?? '');
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Rows of plain objects as RFC 4180 CSV with a header row. */
function toCsv(rows: readonly Record<string, unknown>[]): string {
  const columns = Object.keys(rows[0] ?? {});
  return `${[columns.join(','), ...rows.map((r) => columns.map((c) => csvCell(r[c])).join(','))].join('\r\n')}\r\n`;
}

function agencyOf(c: Context<GatewayEnv>): string {
  return c.get('principal').tenantCode;
}

function actorOf(c: Context<GatewayEnv>, operator?: string) {
  const clientId = c.get('principal').clientId;
  return operator
    ? { kind: 'user' as const, id: `${clientId}/${operator}` }
    : { kind: 'client' as const, id: clientId };
}

/**
 * Mounts the exchange, the relay and the release queue on a router (the gateway mounts it
 * under `/exchange/v1`).
 *
 * @example
 * registerExchangeRoutes(router, { exchange, relay });
 */
export function registerExchangeRoutes(app: Router, deps: { exchange: ExchangeService; relay: Relay }): void {
  app.openapi(registerReplicas, async (c) => {
    requireScope(c, SCOPES.replicaRegister);
    const result = await deps.relay.registerReplicas(
      { agencyId: agencyOf(c), actor: actorOf(c), requestId: c.get('requestId') },
      c.req.valid('json'),
    );
    if (!result.ok) {
      throw new Problem('forbidden', [
        {
          pointer: result.reason === 'item-not-provided' ? '/records' : '/procedure',
          code: result.reason as never,
        },
      ]);
    }
    return c.json({ requestId: result.requestId, stored: result.stored }, 200);
  });

  app.openapi(issueProvisionCode, async (c) => {
    requireScope(c, SCOPES.exchangeInquire);
    return c.json(
      { provisionCode: await deps.exchange.provisionCode(agencyOf(c), c.req.valid('json').myNumber) },
      200,
    );
  });

  app.openapi(submitInquiry, async (c) => {
    requireScope(c, SCOPES.exchangeInquire);
    const view = await deps.exchange.submitInquiry(
      { requesterId: agencyOf(c), actor: actorOf(c), requestId: c.get('requestId') },
      c.req.valid('json'),
    );
    if (view.status === 'refused') {
      const [reason, items] = (view.reason ?? '').split(':');
      throw new Problem('inquiry-not-permitted', [
        {
          pointer: reason === 'item-not-permitted' ? '/items' : '/procedure',
          code: (reason ?? 'refused') as never,
        },
        ...(items
          ? items.split(',').map((i) => ({ pointer: '/items', code: `not-permitted:${i}` as never }))
          : []),
      ]);
    }
    return c.json(view, 201);
  });

  app.openapi(getInquiryResult, async (c) => {
    requireScope(c, SCOPES.exchangeInquire);
    const view = await deps.exchange.getInquiry(agencyOf(c), c.req.valid('param').inquiryId);
    if (!view) throw new Problem('not-found');
    return c.json(view, 200);
  });

  app.openapi(listPendingReleases, async (c) => {
    requireScope(c, SCOPES.release);
    return c.json({ pending: await deps.exchange.listPendingReleases(agencyOf(c)) }, 200);
  });

  app.openapi(getReconciliationReport, async (c) => {
    requireScope(c, SCOPES.release);
    const provider = agencyOf(c);
    const { report } = c.req.valid('param');
    const rows: Record<string, unknown>[] =
      report === 'replicas'
        ? await deps.exchange.replicaExport(provider)
        : report === 'provision-status'
          ? await deps.exchange.provisionStatus(provider)
          : await deps.exchange.errorCheckList(provider);
    if (c.req.valid('query').format === 'csv') {
      return new Response(toCsv(rows), {
        status: 200,
        headers: {
          'Content-Type': 'text/csv; charset=utf-8',
          'Content-Disposition': `attachment; filename="${report}.csv"`,
        },
      }) as never;
    }
    return c.json({ rows }, 200);
  });

  app.openapi(releaseAnswer, async (c) => {
    requireScope(c, SCOPES.release);
    const operator = c.req.valid('header')['x-operator'];
    const view = await deps.exchange.decideRelease(agencyOf(c), c.req.valid('param').inquiryId, {
      release: true,
      operator,
      actor: actorOf(c, operator),
    });
    if (!view) throw new Problem('not-found');
    return c.json(view, 200);
  });

  app.openapi(refuseAnswer, async (c) => {
    requireScope(c, SCOPES.release);
    const operator = c.req.valid('header')['x-operator'];
    const view = await deps.exchange.decideRelease(agencyOf(c), c.req.valid('param').inquiryId, {
      release: false,
      operator,
      actor: actorOf(c, operator),
      reason: c.req.valid('json').reason,
    });
    if (!view) throw new Problem('not-found');
    return c.json(view, 200);
  });
}
