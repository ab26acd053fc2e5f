/**
 * Where postgres.js should connect for a PostgreSQL URL. A Unix-domain socket is named as
 * libpq names it — its directory in a `host` query parameter, the port (the socket file's
 * suffix) in the URL or a `port` parameter, the host part empty or not:
 * `postgres://app@/pmh?host=/var/run/postgresql`. postgres.js knows neither parameter (it
 * would send both to the server as settings, which refuses them), so they become the socket's
 * `path` here and leave the URL; any other URL is returned as it is.
 *
 * @example
 * socketTarget('postgres://app@/pmh?host=/var/run/postgresql');
 * // { url: 'postgres://app@localhost/pmh', path: '/var/run/postgresql/.s.PGSQL.5432' }
 */
export function socketTarget(url: string): { url: string; path?: string } {
  // WHATWG URLs refuse credentials before an empty host, which libpq accepts.
  const parsable = url.replace(/^(postgres(?:ql)?:\/\/[^/?#]*@)(?=[/?#]|$)/, '$1localhost');
  let parsed: URL;
  try {
    parsed = new URL(parsable);
  } catch {
    return { url };
  }
  const dir = parsed.searchParams.get('host');
  if (!dir?.startsWith('/')) return { url };
  const port = parsed.port || parsed.searchParams.get('port') || '5432';
  if (!/^\d{1,5}$/.test(port)) return { url };
  parsed.searchParams.delete('host');
  parsed.searchParams.delete('port');
  return { url: parsed.toString(), path: `${dir.replace(/\/+$/, '')}/.s.PGSQL.${port}` };
}
