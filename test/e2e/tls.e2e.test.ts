import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CertificateAndKey, createPrivateCa, issueCertificate } from '../../src/crypto/index.js';
import { writeLinkageFile } from '../../src/sim/case-system/linkage-file.js';
import { freePort, type ServerProcess, startServer } from './server.js';

// Links over mutual TLS (A16). The hub → insurer link: the insurer intermediate server runs as
// its own process with INSURER_TLS_*, the gateway numbers through it with NUMBERING_TLS_*. The
// gateway's own API with TLS_*. Each process on a PGlite of its own (DATABASE_URL, when set, is
// not passed on).

const PEOPLE = 20;
const dir = mkdtempSync(path.join(tmpdir(), 'pmh-tls-'));
const ca = createPrivateCa({ commonName: 'numbering link CA' });
const otherCa = createPrivateCa({ commonName: 'some other CA' });
const files: Record<string, string> = {};
function pemFiles(name: string, c: CertificateAndKey) {
  files[`${name}.crt`] = c.certPem;
  files[`${name}.key`] = c.keyPem;
}
pemFiles('ca', ca);
pemFiles('insurer', issueCertificate(ca, { commonName: 'insurer', usage: 'server' }));
pemFiles('gateway', issueCertificate(ca, { commonName: 'gateway', usage: 'client' }));
pemFiles('stranger', issueCertificate(otherCa, { commonName: 'stranger', usage: 'client' }));
for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text, { mode: 0o600 });
const file = (name: string) => path.join(dir, name);

const servers: ServerProcess[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
});

/** A GET with the given client certificate (or none): the status, or the refusal. */
function knock(
  port: number,
  client?: string,
  urlPath = '/insurer/v1/eligibility-links/U00000000001',
): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: urlPath,
        ca: files['ca.crt'],
        ...(client ? { cert: files[`${client}.crt`], key: files[`${client}.key`] } : {}),
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.end();
  });
}

/** Refused during the TLS handshake: an error, and not because nothing listens there. */
function expectRefusedAtHandshake(result: number | string, what: string): void {
  expect(result, what).toBeTypeOf('string');
  expect(result, `${what}: the server must be up, refusing the handshake`).not.toBe('ECONNREFUSED');
}

describe('mutual TLS between the processes', () => {
  it('numbers subjects through a mutual-TLS link, and the insurer server refuses a client without a certificate of its CA', async () => {
    const token = randomBytes(24).toString('base64url');
    const insurerPort = await freePort();
    const noDatabaseUrl = { DATABASE_URL: undefined };
    const insurer = await startServer(
      {
        ...noDatabaseUrl,
        DATA_DIR: path.join(dir, 'insurer-data'),
        INSURER_TOKEN: token,
        INSURED_PEOPLE: String(PEOPLE),
        INSURER_TLS_CERT_FILE: file('insurer.crt'),
        INSURER_TLS_KEY_FILE: file('insurer.key'),
        INSURER_TLS_CLIENT_CA_FILE: file('ca.crt'),
      },
      {
        entry: 'src/intermediate/insurer/main.ts',
        port: insurerPort,
        portVariable: 'INSURER_PORT',
        readyOutput: /insurer intermediate server on https:\/\/.*\(mutual TLS\)/,
      },
    );
    servers.push(insurer);

    expect(
      await knock(insurerPort, 'gateway'),
      'our client certificate: past TLS, then the token is asked',
    ).toBe(401);
    expectRefusedAtHandshake(await knock(insurerPort), 'no client certificate');
    expectRefusedAtHandshake(await knock(insurerPort, 'stranger'), 'a certificate of another CA');

    const gateway = await startServer({
      ...noDatabaseUrl,
      DATA_DIR: path.join(dir, 'gateway-data'),
      NUMBERING_URL: `https://127.0.0.1:${insurerPort}`,
      NUMBERING_TLS_CA_FILE: file('ca.crt'),
      NUMBERING_TLS_CERT_FILE: file('gateway.crt'),
      NUMBERING_TLS_KEY_FILE: file('gateway.key'),
      INSURER_TOKEN: token,
      NUMBERING_RETRY_BASE_MS: '100',
      NUMBERING_RETRY_MAX_MS: '500',
    });
    servers.push(gateway);
    expect(gateway.output()).toContain(`numbering       over HTTP to https://127.0.0.1:${insurerPort}`);

    const csv = path.join(dir, 'renkei.csv');
    await writeLinkageFile({ path: csv, subjects: PEOPLE, seed: 1, encoding: 'utf-8' });
    const auth = { authorization: `Bearer ${gateway.token()}` };
    const up = await fetch(`${gateway.url}/api/v1/linkage-files?fileName=renkei.csv`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'text/csv' },
      body: readFileSync(csv),
    });
    expect(up.status).toBe(202);
    const { linkageFileId } = (await up.json()) as { linkageFileId: string };

    let numbered = 0;
    for (let i = 0; i < 300 && numbered < PEOPLE; i++) {
      await new Promise((r) => setTimeout(r, 200));
      const res = await fetch(`${gateway.url}/api/v1/linkage-files/${linkageFileId}?limit=100`, {
        headers: auth,
      });
      const body = (await res.json()) as { rows?: { numbering?: { status?: string } }[] };
      numbered = (body.rows ?? []).filter((r) => r.numbering?.status === 'numbered').length;
    }
    expect(numbered, 'every subject numbered through the TLS link').toBe(PEOPLE);
  });

  it('refuses to start the gateway with TLS files toward a plain-HTTP NUMBERING_URL, naming the variable', async () => {
    await expect(
      startServer({
        DATABASE_URL: undefined,
        DATA_DIR: path.join(dir, 'refused'),
        NUMBERING_URL: 'http://127.0.0.1:1',
        NUMBERING_TLS_CA_FILE: file('ca.crt'),
      }),
    ).rejects.toThrow(/NUMBERING_URL: NUMBERING_TLS_\* files need an https NUMBERING_URL/);
  });

  it('serves the gateway itself over mutual TLS when TLS_* are given', async () => {
    const port = await freePort();
    const gateway = await startServer(
      {
        DATABASE_URL: undefined,
        DATA_DIR: path.join(dir, 'gateway-tls'),
        TLS_CERT_FILE: file('insurer.crt'),
        TLS_KEY_FILE: file('insurer.key'),
        TLS_CLIENT_CA_FILE: file('ca.crt'),
      },
      { port, readyOutput: /pmh-gateway is running/ },
    );
    servers.push(gateway);
    expect(gateway.output()).toContain(`https://127.0.0.1:${port}/docs`);
    expect(gateway.output()).toContain('TLS             mutual');
    expect(await knock(port, 'gateway', '/healthz')).toBe(200);
    expectRefusedAtHandshake(await knock(port, undefined, '/healthz'), 'no client certificate');
    expectRefusedAtHandshake(await knock(port, 'stranger', '/healthz'), 'a certificate of another CA');
  });
});
