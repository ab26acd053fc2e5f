import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createPrivateCa, issueCertificate } from '../crypto/index.js';
import type { Db } from '../db/client.js';
import { clientExists, createClient, SCOPES, type Scope, SERVICE_TENANT } from '../identity/index.js';
import type { ExchangeService } from '../intermediate/agency/index.js';
import type { InsurerService } from '../intermediate/insurer/index.js';
import { ensureTenant } from '../pmh/index.js';
import { loadInsured } from '../sim/insured/index.js';

/** The demo tenants: Tokyo (the data owner in the seed) and Kanagawa. */
export const DEMO_TENANTS = [
  { municipalityCode: '130001', name: '東京都' },
  { municipalityCode: '140007', name: '神奈川県' },
] as const;

/** The demo business: 自立支援医療（精神通院）. */
export const DEMO_BUSINESS_ID = 'jiritsu-seishin';

/** The demo's service clients: the online eligibility system and the My Number Portal. */
export type DemoService = 'eligibility' | 'portal';

/** One entry of `demo-credentials.json`. */
export interface DemoCredential {
  municipalityCode: string;
  businessId: string;
  token: string;
  scopes: Scope[];
}

/**
 * Seeds the demo tenants and one client each, idempotently: an existing
 * `demo-credentials.json` is reused, so a restart keeps the same tokens and data.
 *
 * @example
 * const creds = await seedDemo(db, 'data');
 */
export async function seedDemo(
  db: Db,
  dataDir: string,
): Promise<{ file: string; tenants: DemoCredential[]; services: Record<DemoService, string> }> {
  const file = path.join(dataDir, 'demo-credentials.json');
  const saved = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as {
        tenants?: DemoCredential[];
        services?: Partial<Record<DemoService, string>>;
      })
    : {};
  const previous: DemoCredential[] = saved.tenants ?? [];
  const services = {} as Record<DemoService, string>;
  for (const [service, scope] of [
    ['eligibility', SCOPES.lookupClinic],
    ['portal', SCOPES.portal],
  ] as const) {
    const known = saved.services?.[service];
    if (known && (await clientExists(db, known))) {
      services[service] = known;
      continue;
    }
    services[service] = (
      await createClient(db, {
        name: `demo ${service}`,
        tenantCode: SERVICE_TENANT,
        businessId: SERVICE_TENANT,
        scopes: [scope],
        ...(known ? { token: known } : {}),
      })
    ).token;
  }
  const tenants: DemoCredential[] = [];
  for (const t of DEMO_TENANTS) {
    await ensureTenant(db, t.municipalityCode, t.name);
    const scopes: Scope[] = [SCOPES.register, SCOPES.read, SCOPES.myNumberView];
    const known = previous.find((p) => p.municipalityCode === t.municipalityCode);
    if (known && (await clientExists(db, known.token))) {
      tenants.push(known);
      continue;
    }
    const { token } = await createClient(db, {
      name: `demo case system (${t.name})`,
      tenantCode: t.municipalityCode,
      businessId: DEMO_BUSINESS_ID,
      scopes,
      ...(known ? { token: known.token } : {}),
    });
    tenants.push({ municipalityCode: t.municipalityCode, businessId: DEMO_BUSINESS_ID, token, scopes });
  }
  writeFileSync(file, `${JSON.stringify({ tenants, services }, null, 2)}\n`, { mode: 0o600 });
  return { file, tenants, services };
}

/**
 * Reads a secret token file, or creates one (mode 0600) — the demo's service token between
 * the hub and the insurer intermediate server.
 *
 * @example
 * const token = loadOrCreateSecret('data/insurer.token');
 */
export function loadOrCreateSecret(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(path.dirname(file), { recursive: true });
  const token = randomBytes(32).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}

/**
 * Loads the first `people` persons of the synthetic population (seed 1, the case-system
 * simulator's default) into the insurer intermediate server, once: a restart adds nothing.
 * Every 50th person is held with a birth date one day off, so the demo shows failed
 * cross-checks too.
 */
export async function seedDemoInsured(insurer: InsurerService, people: number): Promise<number> {
  return loadInsured(insurer, { seed: 1, size: people, mismatchEvery: 50 });
}

/** One agency of the demo exchange: its tokens and where its key and certificate are. */
export interface DemoAgency {
  agencyId: string;
  name: string;
  certFile: string;
  keyFile: string;
  tokens: Partial<Record<'replica' | 'release' | 'inquire', string>>;
}

const DEMO_AGENCIES = [
  { agencyId: '130001', name: '東京都', roles: ['replica', 'release', 'inquire'] },
  { agencyId: '131016', name: '千代田区', roles: ['inquire'] },
  { agencyId: '140007', name: '神奈川県', roles: ['inquire'] },
] as const;

const ROLE_SCOPE = {
  replica: SCOPES.replicaRegister,
  release: SCOPES.release,
  inquire: SCOPES.exchangeInquire,
} as const;

/**
 * Seeds the demo exchange once: a private CA under `$DATA_DIR/pki`, a certificate per agency
 * (東京都 provides; 千代田区 and 神奈川県 inquire), the agencies registered with the exchange, and
 * their clients, written to `$DATA_DIR/demo-exchange.json`.
 */
export async function seedDemoExchange(
  db: Db,
  exchange: ExchangeService,
  dataDir: string,
): Promise<{ file: string; agencies: DemoAgency[] }> {
  const file = path.join(dataDir, 'demo-exchange.json');
  const pki = path.join(dataDir, 'pki');
  mkdirSync(pki, { recursive: true });
  const saved = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as { agencies: DemoAgency[] })
    : { agencies: [] };
  const caFiles = { certPem: path.join(pki, 'ca.crt'), keyPem: path.join(pki, 'ca.key') };
  if (!existsSync(caFiles.certPem)) {
    const ca = createPrivateCa({ commonName: 'pmh-gateway demo exchange CA' });
    writeFileSync(caFiles.certPem, ca.certPem);
    writeFileSync(caFiles.keyPem, ca.keyPem, { mode: 0o600 });
  }
  const ca = { certPem: readFileSync(caFiles.certPem, 'utf8'), keyPem: readFileSync(caFiles.keyPem, 'utf8') };
  const out: DemoAgency[] = [];
  for (const a of DEMO_AGENCIES) {
    const certFile = path.join(pki, `${a.agencyId}.crt`);
    const keyFile = path.join(pki, `${a.agencyId}.key`);
    if (!existsSync(certFile)) {
      const issued = issueCertificate(ca, { commonName: `${a.name} (${a.agencyId})`, usage: 'agency' });
      writeFileSync(certFile, issued.certPem);
      writeFileSync(keyFile, issued.keyPem, { mode: 0o600 });
    }
    await exchange.registerAgency({
      agencyId: a.agencyId,
      name: a.name,
      certPem: readFileSync(certFile, 'utf8'),
    });
    const known = saved.agencies.find((s) => s.agencyId === a.agencyId)?.tokens ?? {};
    const tokens: DemoAgency['tokens'] = {};
    for (const role of a.roles) {
      const existing = known[role];
      if (existing && (await clientExists(db, existing))) {
        tokens[role] = existing;
        continue;
      }
      tokens[role] = (
        await createClient(db, {
          name: `demo ${a.name} ${role}`,
          tenantCode: a.agencyId,
          businessId: 'exchange',
          scopes: [ROLE_SCOPE[role]],
          ...(existing ? { token: existing } : {}),
        })
      ).token;
    }
    out.push({ agencyId: a.agencyId, name: a.name, certFile, keyFile, tokens });
  }
  writeFileSync(file, `${JSON.stringify({ agencies: out }, null, 2)}\n`, { mode: 0o600 });
  return { file, agencies: out };
}
