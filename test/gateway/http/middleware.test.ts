import { Writable } from 'node:stream';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import type { GatewayEnv } from '../../../src/gateway/http/context.js';
import { createLogger } from '../../../src/gateway/http/logger.js';
import { requestContext } from '../../../src/gateway/http/middleware.js';

const lines: string[] = [];
const logger = createLogger(
  'info',
  new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  }),
);
const app = new Hono<GatewayEnv>();
app.use('*', requestContext(logger));
app.get('/x', (c) => c.text('ok'));

/** The request id the server echoed, and whether its request log line names it unmasked. */
async function idOf(given?: string) {
  lines.length = 0;
  const res = await app.request('/x', given ? { headers: { 'x-request-id': given } } : {});
  const id = res.headers.get('x-request-id') ?? '';
  const logged = lines.some((l) => (JSON.parse(l) as { requestId?: string }).requestId === id);
  return { id, logged };
}

describe('request ids', () => {
  it("keeps a caller's well-formed id, and the log line can be found by it", async () => {
    expect(await idOf('clinic-18cf7614')).toEqual({ id: 'clinic-18cf7614', logged: true });
  });

  it('replaces an id the logs would mask (a run of twelve digits) or a malformed one, and logs the one it echoes', async () => {
    for (const given of ['clinic-18cf761402757972', 'a'.repeat(65), 'bad id']) {
      const { id, logged } = await idOf(given);
      expect(id).not.toBe(given);
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(logged, `the log names ${id}`).toBe(true);
    }
  });

  it('makes ids that the logs never mask', async () => {
    // One UUID in ~280 ends in twelve digits: 2,000 requests would all but surely draw one.
    for (let i = 0; i < 2000; i++) {
      const { id, logged } = await idOf();
      expect(id).not.toMatch(/(?<![0-9])[0-9]{12}(?![0-9])/);
      expect(logged).toBe(true);
    }
  });
});
