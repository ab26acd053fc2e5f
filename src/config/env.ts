import path from 'node:path';
import { z } from 'zod';
import { OperatorError } from './errors.js';
import { checkServerTls, gatewayTlsShape, insurerServerTlsShape } from './tls.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * The environment the gateway reads at start-up. This is the only module that reads
 * `process.env`; everything else receives a parsed {@link Env}.
 *
 * @example
 * const env = loadEnv(process.env);
 * env.PORT; // 3000
 */
export const envSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    HOST: z.string().min(1).default('127.0.0.1'),
    ...gatewayTlsShape,
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
    DATA_DIR: z.string().min(1).default('./data'),
    MASTER_KEY_FILE: z.string().min(1).optional(),
    LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
    DEMO: z
      .enum(['0', '1', 'true', 'false'])
      .default('1')
      .transform((v) => v === '1' || v === 'true'),
    INTAKE_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(1000),
    INTAKE_LEASE_MS: z.coerce.number().int().min(500).max(3_600_000).default(30_000),
    MAX_UPLOAD_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .default(2 * 1024 ** 3),
    INSURER_PORT: z.coerce.number().int().min(0).max(65535).default(3001),
    INSURER_TOKEN: z.string().min(16).optional(),
    NUMBERING_URL: z.url({ protocol: /^https?$/ }).optional(),
    /** TLS toward the insurer server at an https NUMBERING_URL: a CA to trust, and a client certificate for mutual TLS. */
    NUMBERING_TLS_CA_FILE: z.string().min(1).optional(),
    NUMBERING_TLS_CERT_FILE: z.string().min(1).optional(),
    NUMBERING_TLS_KEY_FILE: z.string().min(1).optional(),
    ...insurerServerTlsShape,
    DEMO_INSURED: z.coerce.number().int().min(0).max(10_000_000).default(20_000),
    NUMBERING_BATCH_SIZE: z.coerce.number().int().min(1).max(5000).default(3000),
    /** Batches numbered side by side (each one claim → request → record). */
    NUMBERING_CONCURRENCY: z.coerce.number().int().min(1).max(16).default(3),
    NUMBERING_RETRY_BASE_MS: z.coerce.number().int().min(0).default(1000),
    NUMBERING_RETRY_MAX_MS: z.coerce.number().int().min(0).default(60_000),
    NUMBERING_MAX_ATTEMPTS: z.coerce.number().int().min(1).default(8),
    NUMBERING_BREAKER_OPEN_MS: z.coerce.number().int().min(0).default(30_000),
    LINKAGE_KEY_EPOCHS: z
      .string()
      .regex(/^[A-Za-z0-9._-]+(,[A-Za-z0-9._-]+)*$/)
      .default('1')
      .transform((v) => v.split(',')),
    RELEASE_FOUR_EYES: z
      .enum(['0', '1', 'true', 'false'])
      .default('0')
      .transform((v) => v === '1' || v === 'true'),
    INQUIRY_RETENTION_MS: z.coerce
      .number()
      .int()
      .min(0)
      .default(30 * 24 * 3600_000),
    RETENTION_INTERVAL_MS: z.coerce.number().int().min(100).default(3600_000),
    NUMBERING_WORKER: z
      .enum(['0', '1', 'true', 'false'])
      .default('1')
      .transform((v) => v === '1' || v === 'true'),
    /**
     * On PostgreSQL, run the clinic and portal lookups' group commit (the batch statement, the
     * read model's openings, the audit append, COMMIT) on a worker thread of its own, off the
     * HTTP thread. Ignored on PGlite (one connection, in this thread).
     */
    LOOKUP_WORKER: z
      .enum(['0', '1', 'true', 'false'])
      .default('1')
      .transform((v) => v === '1' || v === 'true'),
    /** `embedded`: the hub in this process plays PMH. `remote`: forward to PMH_BASE_URL through the outbox. */
    PMH_MODE: z.enum(['embedded', 'remote']).default('embedded'),
    PMH_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
    /** A bearer token, or JSON `{ "<tenant>:<businessId>": "<token>", "*": "<token>" }`. */
    PMH_TOKEN_FILE: z.string().min(1).optional(),
    PMH_TLS_CA_FILE: z.string().min(1).optional(),
    PMH_TLS_CERT_FILE: z.string().min(1).optional(),
    PMH_TLS_KEY_FILE: z.string().min(1).optional(),
    PMH_BATCH_SIZE: z.coerce.number().int().min(1).max(5000).default(500),
    PMH_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
    /** How long a dispatcher owns a batch in flight; after a crash another takes it over then. */
    PMH_LEASE_MS: z.coerce.number().int().min(1000).default(120_000),
    PMH_RATE_PER_SECOND: z.coerce.number().min(0.01).default(10),
    PMH_MAX_ATTEMPTS: z.coerce.number().int().min(1).default(12),
    PMH_RETRY_BASE_MS: z.coerce.number().int().min(0).default(1000),
    PMH_RETRY_MAX_MS: z.coerce.number().int().min(0).default(300_000),
    PMH_BREAKER_OPEN_MS: z.coerce.number().int().min(0).default(30_000),
    OUTBOX_ALERT_DEPTH: z.coerce.number().int().min(1).default(10_000),
    OUTBOX_ALERT_AGE_SECONDS: z.coerce.number().int().min(1).default(900),
    /**
     * While a linkage file is processed, how far V8 may grow the heap past what was live after
     * its last full collection, in percent (120: up to 2.2×; see `holdHeapGrowth`). Left to
     * itself V8 grew it ~3× there (~310 MB peak RSS for 100,000 rows); 150 held it near 240 MB
     * for ~4 % more CPU until a 1,000,000-row file peaked at 302 MB; 120 held that one at 270 MB
     * for ~8 % more time. 0 leaves V8's own heuristics.
     */
    INTAKE_HEAP_GROWTH_PERCENT: z.coerce.number().int().min(0).max(1000).default(120),
  })
  .superRefine((e, ctx) => {
    if (e.PMH_MODE === 'remote' && !e.PMH_BASE_URL)
      ctx.addIssue({ code: 'custom', path: ['PMH_BASE_URL'], message: 'required when PMH_MODE=remote' });
    if (e.PMH_LEASE_MS <= e.PMH_TIMEOUT_MS)
      ctx.addIssue({ code: 'custom', path: ['PMH_LEASE_MS'], message: 'must be longer than PMH_TIMEOUT_MS' });
    if (Boolean(e.PMH_TLS_CERT_FILE) !== Boolean(e.PMH_TLS_KEY_FILE))
      ctx.addIssue({
        code: 'custom',
        path: ['PMH_TLS_KEY_FILE'],
        message: 'PMH_TLS_CERT_FILE and PMH_TLS_KEY_FILE go together',
      });
    if ((e.PMH_TLS_CERT_FILE || e.PMH_TLS_CA_FILE) && e.PMH_BASE_URL && !e.PMH_BASE_URL.startsWith('https:'))
      ctx.addIssue({ code: 'custom', path: ['PMH_BASE_URL'], message: 'TLS files need an https URL' });
    if (Boolean(e.NUMBERING_TLS_CERT_FILE) !== Boolean(e.NUMBERING_TLS_KEY_FILE))
      ctx.addIssue({
        code: 'custom',
        path: ['NUMBERING_TLS_KEY_FILE'],
        message: 'NUMBERING_TLS_CERT_FILE and NUMBERING_TLS_KEY_FILE go together',
      });
    if ((e.NUMBERING_TLS_CERT_FILE || e.NUMBERING_TLS_CA_FILE) && !e.NUMBERING_URL?.startsWith('https:'))
      ctx.addIssue({
        code: 'custom',
        path: ['NUMBERING_URL'],
        message: 'NUMBERING_TLS_* files need an https NUMBERING_URL',
      });
    checkServerTls('INSURER_TLS_', e, ctx);
    checkServerTls('TLS_', e, ctx);
    if (e.INSURER_PORT === 0 && e.INSURER_TLS_CERT_FILE)
      ctx.addIssue({
        code: 'custom',
        path: ['INSURER_TLS_CERT_FILE'],
        message: 'is for the insurer server this process serves, and INSURER_PORT=0 serves none',
      });
  })
  .transform((e) => ({
    ...e,
    DATA_DIR: path.resolve(e.DATA_DIR),
    MASTER_KEY_FILE: path.resolve(e.MASTER_KEY_FILE ?? path.join(e.DATA_DIR, 'master.key')),
    INSURER_TOKEN_FILE: path.resolve(e.DATA_DIR, 'insurer.token'),
  }));

/** The parsed, validated environment. */
export type Env = z.output<typeof envSchema>;

/** Thrown when the environment is invalid; its message names every bad variable. */
export class EnvError extends OperatorError {
  override name = 'EnvError';
}

/**
 * Parses the environment, or throws an {@link EnvError} listing each bad variable.
 *
 * @example
 * loadEnv({ PORT: 'eighty' }); // throws: "PORT: Invalid input: expected number, received NaN"
 */
export function loadEnv(source: Record<string, string | undefined> = process.env): Env {
  const result = envSchema.safeParse(source);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new EnvError(`Invalid environment:\n${lines.join('\n')}`);
  }
  return result.data;
}

/**
 * The environment of the insurer intermediate server when it runs as its own process
 * (`npm run start:insurer`): its own database, data folder, master key and service token.
 *
 * @example
 * const env = loadInsurerEnv(process.env);
 */
export const insurerEnvSchema = z
  .object({
    INSURER_PORT: z.coerce.number().int().min(0).max(65535).default(3001),
    HOST: z.string().min(1).default('127.0.0.1'),
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
    DATA_DIR: z.string().min(1).default('./data/insurer'),
    MASTER_KEY_FILE: z.string().min(1).optional(),
    INSURER_TOKEN: z.string().min(16),
    INSURED_PEOPLE: z.coerce.number().int().min(0).default(0),
    INSURED_MISMATCH_EVERY: z.coerce.number().int().min(0).default(0),
    LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
    ...insurerServerTlsShape,
  })
  .superRefine((e, ctx) => checkServerTls('INSURER_TLS_', e, ctx))
  .transform((e) => ({
    ...e,
    DATA_DIR: path.resolve(e.DATA_DIR),
    MASTER_KEY_FILE: path.resolve(e.MASTER_KEY_FILE ?? path.join(e.DATA_DIR, 'master.key')),
  }));

/** Parses the insurer server's environment, or throws an {@link EnvError}. */
export function loadInsurerEnv(
  source: Record<string, string | undefined> = process.env,
): z.output<typeof insurerEnvSchema> {
  const result = insurerEnvSchema.safeParse(source);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new EnvError(`Invalid environment:\n${lines.join('\n')}`);
  }
  return result.data;
}
