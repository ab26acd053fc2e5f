import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { z } from 'zod';
import { OperatorError } from './errors.js';

const pemFile = () => z.string().min(1).optional();

/**
 * A server's TLS files, `<prefix>CERT_FILE`, `<prefix>KEY_FILE` and `<prefix>CLIENT_CA_FILE`:
 * serve over HTTPS with the certificate and key; with a client CA, require a client
 * certificate it issued (mutual TLS).
 */
type ServerTlsVariables<P extends string> = Record<
  `${P}${'CERT' | 'KEY' | 'CLIENT_CA'}_FILE`,
  string | undefined
>;

/** The gateway's own TLS (`TLS_*`). */
export const gatewayTlsShape = {
  TLS_CERT_FILE: pemFile(),
  TLS_KEY_FILE: pemFile(),
  TLS_CLIENT_CA_FILE: pemFile(),
};

/** The insurer server's TLS (`INSURER_TLS_*`; read by `npm start` and `start:insurer` alike). */
export const insurerServerTlsShape = {
  INSURER_TLS_CERT_FILE: pemFile(),
  INSURER_TLS_KEY_FILE: pemFile(),
  INSURER_TLS_CLIENT_CA_FILE: pemFile(),
};

/**
 * The checks of a server's TLS variables that span variables: certificate and key go
 * together; a client CA needs them.
 *
 * @example
 * schema.superRefine((e, ctx) => checkServerTls('INSURER_TLS_', e, ctx));
 */
export function checkServerTls<P extends string>(
  prefix: P,
  e: Partial<ServerTlsVariables<P>>,
  ctx: z.RefinementCtx,
): void {
  const v = e as Record<string, string | undefined>;
  const [cert, key, clientCa] = [`${prefix}CERT_FILE`, `${prefix}KEY_FILE`, `${prefix}CLIENT_CA_FILE`];
  if (Boolean(v[cert]) !== Boolean(v[key]))
    ctx.addIssue({ code: 'custom', path: [key], message: `${cert} and ${key} go together` });
  if (v[clientCa] && !v[cert])
    ctx.addIssue({
      code: 'custom',
      path: [clientCa],
      message: `needs ${cert} and ${key} (mutual TLS is TLS first)`,
    });
}

/**
 * Reads PEM files, each named by its variable; undefined when none is set. A file that cannot
 * be read stops start-up with a message naming the variable.
 *
 * @example
 * const tls = readPemFiles({ ca: ['NUMBERING_TLS_CA_FILE', env.NUMBERING_TLS_CA_FILE] });
 */
function readPemFiles<K extends string>(
  files: Record<K, readonly [variable: string, file: string | undefined]>,
): Partial<Record<K, string>> | undefined {
  const out: Partial<Record<K, string>> = {};
  let any = false;
  for (const [kind, [variable, file]] of Object.entries(files) as [
    K,
    readonly [string, string | undefined],
  ][]) {
    if (!file) continue;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new OperatorError(
        `${variable} ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`,
      );
    }
    // An empty file (a secret not mounted yet) must not quietly mean "no TLS" or "trust the
    // public CAs": it stops start-up like a missing one.
    if (!text.includes('-----BEGIN '))
      throw new OperatorError(`${variable} ${file} holds no PEM block (empty, or not PEM)`);
    out[kind] = text;
    any = true;
  }
  return any ? out : undefined;
}

/**
 * Checks that PEM texts make a usable TLS setting (certificate and key belong together, each
 * parses), naming the variables when they do not, so that the failure is at start-up and
 * says what to fix rather than an OpenSSL error from the first connection.
 *
 * @example
 * checkTlsMaterial({ cert, key }, 'INSURER_TLS_CERT_FILE / INSURER_TLS_KEY_FILE');
 */
function checkTlsMaterial(pem: { ca?: string; cert?: string; key?: string }, variables: string): void {
  try {
    createSecureContext(pem);
  } catch (err) {
    throw new OperatorError(`${variables}: not a usable TLS setting (${(err as Error).message})`);
  }
}

/** TLS of a server: its certificate and key, and (mutual TLS) a CA its clients' certificates must chain to. */
export interface ServerTls {
  cert: string;
  key: string;
  clientCa?: string;
}

/**
 * A client's TLS toward an https server from its `<prefix>CA_FILE`, `<prefix>CERT_FILE`,
 * `<prefix>KEY_FILE` (a CA to trust, a certificate for mutual TLS), checked; undefined when none
 * is set.
 *
 * @example
 * const tls = clientTls('NUMBERING_TLS_', env); // { ca?, cert?, key? }
 */
export function clientTls(
  prefix: string,
  e: object,
): { ca?: string; cert?: string; key?: string } | undefined {
  const v = e as Record<string, string | undefined>;
  const name = (kind: string) => `${prefix}${kind}_FILE`;
  const pem = readPemFiles({
    ca: [name('CA'), v[name('CA')]],
    cert: [name('CERT'), v[name('CERT')]],
    key: [name('KEY'), v[name('KEY')]],
  });
  if (pem) checkTlsMaterial(pem, `${prefix}*_FILE`);
  return pem;
}

/**
 * A server's TLS from its `<prefix>*_FILE` variables, or undefined (plain HTTP).
 *
 * @example
 * const tls = serverTls('INSURER_TLS_', env); // { cert, key, clientCa? }
 */
export function serverTls<P extends string>(
  prefix: P,
  e: Partial<ServerTlsVariables<P>>,
): ServerTls | undefined {
  const v = e as Record<string, string | undefined>;
  const name = (kind: string) => `${prefix}${kind}_FILE`;
  const pem = readPemFiles({
    cert: [name('CERT'), v[name('CERT')]],
    key: [name('KEY'), v[name('KEY')]],
    clientCa: [name('CLIENT_CA'), v[name('CLIENT_CA')]],
  });
  if (!pem?.cert || !pem.key) return undefined;
  checkTlsMaterial(
    { cert: pem.cert, key: pem.key, ...(pem.clientCa ? { ca: pem.clientCa } : {}) },
    `${name('CERT')} / ${name('KEY')}${pem.clientCa ? ` / ${name('CLIENT_CA')}` : ''}`,
  );
  return { cert: pem.cert, key: pem.key, ...(pem.clientCa ? { clientCa: pem.clientCa } : {}) };
}
