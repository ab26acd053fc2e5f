/**
 * How a simulator reaches a server: a `fetch`-shaped function, so the same simulator runs
 * against a real server over HTTP (`fetch` + base URL) or an app in process (`app.request`).
 */
export type Requester = (path: string, init?: RequestInit) => Promise<Response>;

/**
 * A requester for a base URL over the network.
 *
 * @example
 * const hub = overHttp('http://127.0.0.1:3000');
 */
export function overHttp(baseUrl: string): Requester {
  return (path, init) => fetch(`${baseUrl}${path}`, init);
}

/** An error answer from a server, carrying its problem code (never a body's personal data). */
export class SimulatorHttpError extends Error {
  override name = 'SimulatorHttpError';
  constructor(
    readonly status: number,
    readonly code: string | undefined,
  ) {
    super(`HTTP ${status}${code ? ` ${code}` : ''}`);
  }
}

/** Throws {@link SimulatorHttpError} unless the answer is 2xx. */
export async function ensureOk(res: Response): Promise<Response> {
  if (res.ok) return res;
  let code: string | undefined;
  try {
    code = ((await res.json()) as { code?: string }).code;
  } catch {}
  throw new SimulatorHttpError(res.status, code);
}
