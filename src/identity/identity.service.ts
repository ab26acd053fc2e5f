import { createHash, randomBytes } from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { apiClients } from './identity.tables.js';

/** What a system client may do. */
export const SCOPES = {
  register: 'register',
  read: 'read',
  myNumberView: 'my-number:view',
  /** The online eligibility system: clinic lookups by linkage key. */
  lookupClinic: 'lookup:clinic',
  /** The My Number Portal: link pseudonyms and look up by them. */
  portal: 'portal',
  /** Operators of the exchange: read and replace the permit list. */
  permitListAdmin: 'permit-list:admin',
  /** A providing agency's case system: register replicas through the relay. */
  replicaRegister: 'replica:register',
  /** A requesting agency: issue its provision codes, inquire, read its results. */
  exchangeInquire: 'exchange:inquire',
  /** A providing agency's staff: re-check and release or refuse held answers. */
  release: 'release',
} as const;

/** The tenant and business of a service client (eligibility system, portal): no tenant at all. */
export const SERVICE_TENANT = '-';

/** One of {@link SCOPES}. */
export type Scope = (typeof SCOPES)[keyof typeof SCOPES];

/** An authenticated caller: the tenant and business come from its token, never from a body. */
export interface Principal {
  clientId: string;
  tenantCode: string;
  businessId: string;
  scopes: ReadonlySet<Scope>;
}

function hashToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/**
 * Creates a client and returns its bearer token, shown once. A fixed token may be passed
 * (the demo keeps its credentials across restarts); it is stored only as a hash.
 *
 * @example
 * const { token } = await createClient(db, { name: 'case system', tenantCode: '130001', businessId: 'jiritsu-seishin', scopes: ['register', 'read'] });
 */
export async function createClient(
  db: Db,
  input: { name: string; tenantCode: string; businessId: string; scopes: readonly Scope[]; token?: string },
): Promise<{ clientId: string; token: string }> {
  const token = input.token ?? `pmh_${randomBytes(32).toString('base64url')}`;
  const clientId = `cli_${randomBytes(9).toString('base64url')}`;
  await db.insert(apiClients).values({
    id: clientId,
    name: input.name,
    tenantCode: input.tenantCode,
    businessId: input.businessId,
    tokenHash: hashToken(token),
    scopes: [...input.scopes],
  });
  return { clientId, token };
}

/**
 * Finds the live client behind a bearer token.
 *
 * @example
 * const principal = await authenticate(db, token); // undefined when unknown or revoked
 */
export async function authenticate(db: Db, token: string): Promise<Principal | undefined> {
  const [row] = await db
    .select()
    .from(apiClients)
    .where(and(eq(apiClients.tokenHash, hashToken(token)), isNull(apiClients.revokedAt)));
  if (!row) return undefined;
  return {
    clientId: row.id,
    tenantCode: row.tenantCode,
    businessId: row.businessId,
    scopes: new Set(row.scopes as Scope[]),
  };
}

/** Whether a client with this token exists already (the demo seeds idempotently). */
export async function clientExists(db: Db, token: string): Promise<boolean> {
  const [row] = await db
    .select({ id: apiClients.id })
    .from(apiClients)
    .where(eq(apiClients.tokenHash, hashToken(token)));
  return row !== undefined;
}

/**
 * Authenticates bearer tokens with a short-lived cache of known clients, so a busy lookup
 * path does not query the client table on every request. Unknown tokens are never cached.
 * A revoked client keeps working for at most `ttlMs` (default 30 s). The cache is keyed by the
 * token itself (no SHA-256 per request); it holds at most `maxEntries` tokens of known clients
 * (the oldest goes first), for `ttlMs` each, in this process's memory only.
 *
 * @example
 * const auth = createAuthenticator(db);
 * const principal = await auth(token);
 */
export function createAuthenticator(
  db: Db,
  options: { ttlMs?: number; maxEntries?: number; now?: () => number } = {},
): (token: string) => Promise<Principal | undefined> {
  const ttl = options.ttlMs ?? 30_000;
  const max = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { principal: Principal; until: number }>();
  return async (token) => {
    const hit = cache.get(token);
    if (hit) {
      if (hit.until > now()) return hit.principal;
      cache.delete(token);
    }
    const principal = await authenticate(db, token);
    if (principal) {
      if (cache.size >= max) cache.delete(cache.keys().next().value as string);
      cache.set(token, { principal, until: now() + ttl });
    }
    return principal;
  };
}
