import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import type { ServerTls } from '../../config/tls.js';

/**
 * Serves a fetch handler over HTTP, or over HTTPS when `tls` is given; with `tls.clientCa` a
 * client without a certificate from that CA is refused during the handshake, before any
 * request reaches the handler.
 *
 * @example
 * serveApp({ fetch: app.fetch, port: 3001, hostname: '127.0.0.1', tls: { cert, key, clientCa } });
 */
export function serveApp(
  opts: {
    fetch: (req: Request) => Response | Promise<Response>;
    port: number;
    hostname: string;
    tls?: ServerTls | undefined;
  },
  onListening?: (info: AddressInfo) => void,
): ServerType {
  const { fetch, port, hostname, tls } = opts;
  if (!tls) return serve({ fetch, port, hostname }, onListening);
  return serve(
    {
      fetch,
      port,
      hostname,
      createServer: createHttpsServer,
      serverOptions: {
        cert: tls.cert,
        key: tls.key,
        ...(tls.clientCa ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
      },
    },
    onListening,
  );
}
