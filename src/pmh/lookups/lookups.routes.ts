import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { GatewayEnv, Router } from '../../gateway/http/context.js';
import { requireScope } from '../../gateway/http/middleware.js';
import { COMMON_PROBLEMS, Problem, problemResponse } from '../../gateway/http/problem.js';
import { SCOPES } from '../../identity/index.js';
import { isValidInstitutionCode } from '../../japanese/index.js';
import { FIELD_CODES } from '../../validation/index.js';
import { dateField } from '../pmh.schemas.js';
import { FHIR_MEDIA_TYPE, toCoverageBundle } from './fhir.js';
import { lookupAnswerSchema } from './lookups.schemas.js';
import type { LookupCaller, LookupService } from './lookups.service.js';

const TAG = 'Lookups';
const security = [{ bearerAuth: [] }];

const institutionCode = z.string().superRefine((v, ctx) => {
  if (!/^\d{10}$/.test(v))
    ctx.addIssue({ code: 'custom', message: 'invalid-format', params: { code: FIELD_CODES.invalidFormat } });
  else if (!isValidInstitutionCode(v)) {
    ctx.addIssue({
      code: 'custom',
      message: 'check digit',
      params: { code: FIELD_CODES.institutionCodeCheckDigit },
    });
  }
});

const answerContent = {
  'application/json': { schema: lookupAnswerSchema },
  [FHIR_MEDIA_TYPE]: {
    schema: z
      .object({ resourceType: z.literal('Bundle') })
      .passthrough()
      .openapi('FhirCoverageBundle'),
  },
};

const resolveLinkageKey = createRoute({
  method: 'post',
  path: '/linkage-key-lookups',
  operationId: 'resolveLinkageKey',
  tags: [TAG],
  summary: 'A clinic lookup by one-time PMH連携キー (linkage key), for the online eligibility system',
  description:
    'Opens the linkage key (single use), and answers the entitlements valid on the date of care across every tenant, with whether the asking institution is a designated one. `Accept: application/fhir+json` answers a FHIR R4 Bundle of Coverage (JP_Coverage_eCS_publicPayment). No consent and no entitlement look the same.',
  security,
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .strictObject({
              linkageKey: z.string().min(20).max(4096),
              institutionCode,
              dateOfCare: dateField,
            })
            .openapi('LinkageKeyLookup'),
        },
      },
    },
  },
  responses: {
    200: { description: 'The entitlements (possibly none)', content: answerContent },
    422: problemResponse('Invalid input, or the linkage key is refused (linkage-key-refused)'),
    ...COMMON_PROBLEMS,
  },
});

const linkPortalPseudonym = createRoute({
  method: 'post',
  path: '/portal-pseudonyms',
  operationId: 'linkPortalPseudonym',
  tags: [TAG],
  summary: 'The portal links a new PMH仮名識別子 (pseudonym) to a PMH-ID on a resident’s first use',
  security,
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .strictObject({
              cardSerial: z.string().min(1).max(64),
              pseudonym: z.string().regex(/^[A-Za-z0-9_-]{22,64}$/),
              pmhId: z.string().regex(/^[0-9A-Z]{16}$/),
            })
            .openapi('PortalPseudonymLink'),
        },
      },
    },
  },
  responses: {
    201: { description: 'Linked' },
    409: problemResponse('The pseudonym is linked to another person'),
    422: problemResponse('Invalid input'),
    ...COMMON_PROBLEMS,
  },
});

const lookupByPseudonym = createRoute({
  method: 'get',
  path: '/portal-pseudonyms/{pseudonym}/entitlements',
  operationId: 'lookupByPseudonym',
  tags: [TAG],
  summary: 'A resident’s own entitlements through the portal (an unknown pseudonym answers like none)',
  security,
  request: {
    params: z.object({
      pseudonym: z
        .string()
        .regex(/^[A-Za-z0-9_-]{22,64}$/)
        .openapi({ param: { name: 'pseudonym', in: 'path' } }),
    }),
    query: z.object({ dateOfCare: dateField.optional() }),
  },
  responses: {
    200: { description: 'The entitlements (possibly none)', content: answerContent },
    ...COMMON_PROBLEMS,
  },
});

function lookupCaller(c: Context<GatewayEnv>): LookupCaller {
  return { actor: { kind: 'client', id: c.get('principal').clientId }, requestId: c.get('requestId') };
}

/** A JSON answer already serialised; typed `never` (the route's typed responses describe its shape). */
function jsonText(c: Context<GatewayEnv>, text: string): never {
  return c.body(text, 200, { 'Content-Type': 'application/json' }) as never;
}

/** A FHIR answer; typed `never` because the route's typed responses describe the JSON shape. */
function fhirResponse(bundle: unknown): never {
  return new Response(JSON.stringify(bundle), {
    status: 200,
    headers: { 'Content-Type': FHIR_MEDIA_TYPE },
  }) as never;
}

function wantsFhir(c: Context<GatewayEnv>): boolean {
  return (c.req.header('accept') ?? '').includes(FHIR_MEDIA_TYPE);
}

/**
 * Mounts the lookups on the hub's router.
 *
 * @example
 * registerLookupRoutes(pmhRouter, { lookups, clock });
 */
export function registerLookupRoutes(app: Router, deps: { lookups: LookupService; clock: () => Date }): void {
  app.openapi(resolveLinkageKey, async (c) => {
    requireScope(c, SCOPES.lookupClinic);
    const result = await deps.lookups.resolveLinkageKey(lookupCaller(c), c.req.valid('json'));
    if (!result.ok)
      throw new Problem('linkage-key-refused', [{ pointer: '/linkageKey', code: result.reason as never }]);
    if (wantsFhir(c)) return fhirResponse(toCoverageBundle(result.answer.parse(), { now: deps.clock() }));
    return jsonText(c, result.answer.text);
  });

  app.openapi(linkPortalPseudonym, async (c) => {
    requireScope(c, SCOPES.portal);
    const result = await deps.lookups.linkPseudonym(lookupCaller(c), c.req.valid('json'));
    if (!result.ok) throw new Problem('conflict');
    return c.body(null, 201);
  });

  app.openapi(lookupByPseudonym, async (c) => {
    requireScope(c, SCOPES.portal);
    const dateOfCare = c.req.valid('query').dateOfCare ?? deps.clock().toISOString().slice(0, 10);
    const answer = await deps.lookups.lookupByPseudonym(lookupCaller(c), {
      pseudonym: c.req.valid('param').pseudonym,
      dateOfCare,
    });
    if (wantsFhir(c)) return fhirResponse(toCoverageBundle(answer.parse(), { now: deps.clock() }));
    return jsonText(c, answer.text);
  });
}
