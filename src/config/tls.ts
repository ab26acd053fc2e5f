import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { OperatorError } from './errors.js';

/** The insurer server's own TLS files (both servers read them: `npm start` and `start:insurer`). */
export const insurerServerTlsShape = {
  /** Serve the insurer server over HTTPS with this certificate (PEM) … */
  INSURER_TLS_CERT_FILE: z.string().min(1).optional(),
  /** … and its private key (PEM). */
  INSURER_TLS_KEY_FILE: z.string().min(1).optional(),
  /** Require a client certificate issued by this CA (PEM): mutual TLS. */
  INSURER_TLS_CLIENT_CA_FILE: z.string().min(1).optional(),
};

/** The checks of {@link insurerServerTlsShape} that span variables. */
export function checkInsurerServerTls(
  e: {
    INSURER_TLS_CERT_FILE?: string | undefined;
    INSURER_TLS_KEY_FILE?: string | undefined;
    INSURER_TLS_CLIENT_CA_FILE?: string | undefined;
  },
  ctx: z.RefinementCtx,
): void {
  if (Boolean(e.INSURER_TLS_CERT_FILE) !== Boolean(e.INSURER_TLS_KEY_FILE))
    ctx.addIssue({
      code: 'custom',
      path: ['INSURER_TLS_KEY_FILE'],
      message: 'INSURER_TLS_CERT_FILE and INSURER_TLS_KEY_FILE go together',
    });
  if (e.INSURER_TLS_CLIENT_CA_FILE && !e.INSURER_TLS_CERT_FILE)
    ctx.addIssue({
      code: 'custom',
      path: ['INSURER_TLS_CLIENT_CA_FILE'],
      message: 'needs INSURER_TLS_CERT_FILE and INSURER_TLS_KEY_FILE (mutual TLS is TLS first)',
    });
}

/**
 * Reads PEM files, each named by its variable; undefined when none is set. A file that cannot
 * be read stops start-up with a message naming the variable.
 *
 * @example
 * const tls = readPemFiles({ ca: ['NUMBERING_TLS_CA_FILE', env.NUMBERING_TLS_CA_FILE] });
 */
export function readPemFiles<K extends string>(
  files: Record<K, readonly [variable: string, file: string | undefined]>,
): Partial<Record<K, string>> | undefined {
  const out: Partial<Record<K, string>> = {};
  let any = false;
  for (const [kind, [variable, file]] of Object.entries(files) as [
    K,
    readonly [string, string | undefined],
  ][]) {
    if (!file) continue;
    try {
      out[kind] = readFileSync(file, 'utf8');
      any = true;
    } catch (err) {
      throw new OperatorError(
        `${variable} ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`,
      );
    }
  }
  return any ? out : undefined;
}

/** TLS of a server: its certificate and key, and (mutual TLS) a CA its clients' certificates must chain to. */
export interface ServerTls {
  cert: string;
  key: string;
  clientCa?: string;
}

/**
 * The insurer server's TLS from its `INSURER_TLS_*` files, or undefined (plain HTTP).
 *
 * @example
 * const tls = insurerServerTls(env); // { cert, key, clientCa? }
 */
export function insurerServerTls(e: {
  INSURER_TLS_CERT_FILE?: string | undefined;
  INSURER_TLS_KEY_FILE?: string | undefined;
  INSURER_TLS_CLIENT_CA_FILE?: string | undefined;
}): ServerTls | undefined {
  const pem = readPemFiles({
    cert: ['INSURER_TLS_CERT_FILE', e.INSURER_TLS_CERT_FILE],
    key: ['INSURER_TLS_KEY_FILE', e.INSURER_TLS_KEY_FILE],
    clientCa: ['INSURER_TLS_CLIENT_CA_FILE', e.INSURER_TLS_CLIENT_CA_FILE],
  });
  if (!pem?.cert || !pem.key) return undefined;
  return { cert: pem.cert, key: pem.key, ...(pem.clientCa ? { clientCa: pem.clientCa } : {}) };
}
