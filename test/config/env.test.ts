import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EnvError, loadEnv, loadInsurerEnv } from '../../src/config/env.js';
import { serverTls } from '../../src/config/tls.js';
import { createPrivateCa, issueCertificate } from '../../src/crypto/index.js';

describe('loadEnv', () => {
  it('defaults to PGlite under ./data on port 3000', () => {
    const env = loadEnv({});
    expect(env.PORT).toBe(3000);
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.DATA_DIR).toBe(path.resolve('data'));
    expect(env.MASTER_KEY_FILE).toBe(path.resolve('data', 'master.key'));
  });

  it('names every bad variable in one clear message', () => {
    let error: unknown;
    try {
      loadEnv({ PORT: 'eighty', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EnvError);
    const message = (error as Error).message;
    expect(message).toContain('PORT');
    expect(message).toContain('DATABASE_URL');
    expect(message).toContain('LOG_LEVEL');
  });

  it('takes a PostgreSQL URL and a master key file of its own', () => {
    const env = loadEnv({
      DATABASE_URL: 'postgres://u@127.0.0.1:5432/db',
      MASTER_KEY_FILE: '/etc/pmh/master.key',
    });
    expect(env.DATABASE_URL).toBe('postgres://u@127.0.0.1:5432/db');
    expect(env.MASTER_KEY_FILE).toBe('/etc/pmh/master.key');
  });

  it('runs the embedded hub unless told to forward to a remote PMH', () => {
    expect(loadEnv({}).PMH_MODE).toBe('embedded');
    expect(() => loadEnv({ PMH_MODE: 'remote' })).toThrow(/PMH_BASE_URL: required when PMH_MODE=remote/);
    expect(
      () =>
        loadEnv({
          PMH_MODE: 'remote',
          PMH_BASE_URL: 'http://pmh.internal/pmh/v1',
          PMH_TLS_CERT_FILE: '/etc/pmh/client.pem',
          PMH_TLS_KEY_FILE: '/etc/pmh/client.key',
        }),
      'client certificates over plain HTTP',
    ).toThrow(/TLS files need an https URL/);
    expect(() =>
      loadEnv({ PMH_MODE: 'remote', PMH_BASE_URL: 'https://pmh.internal', PMH_TLS_CERT_FILE: '/c.pem' }),
    ).toThrow(/go together/);
    const env = loadEnv({
      PMH_MODE: 'remote',
      PMH_BASE_URL: 'https://pmh.internal/pmh/v1',
      PMH_BATCH_SIZE: '200',
    });
    expect(env.PMH_BATCH_SIZE).toBe(200);
  });

  it('takes TLS files for the numbering link and the insurer server only when they make sense together', () => {
    expect(() => loadEnv({ NUMBERING_URL: 'http://insurer:3001', NUMBERING_TLS_CA_FILE: 'ca.crt' })).toThrow(
      /NUMBERING_URL: NUMBERING_TLS_\* files need an https NUMBERING_URL/,
    );
    expect(() =>
      loadEnv({ NUMBERING_URL: 'https://insurer:3001', NUMBERING_TLS_CERT_FILE: 'gateway.crt' }),
    ).toThrow(/NUMBERING_TLS_KEY_FILE: NUMBERING_TLS_CERT_FILE and NUMBERING_TLS_KEY_FILE go together/);
    expect(() => loadEnv({ INSURER_TLS_CLIENT_CA_FILE: 'ca.crt' })).toThrow(
      /INSURER_TLS_CLIENT_CA_FILE: needs INSURER_TLS_CERT_FILE/,
    );
    expect(() => loadInsurerEnv({ INSURER_TOKEN: 'x'.repeat(16), INSURER_TLS_KEY_FILE: 'k.pem' })).toThrow(
      /INSURER_TLS_CERT_FILE and INSURER_TLS_KEY_FILE go together/,
    );
    const env = loadEnv({
      NUMBERING_URL: 'https://insurer:3001',
      NUMBERING_TLS_CA_FILE: 'ca.crt',
      NUMBERING_TLS_CERT_FILE: 'gateway.crt',
      NUMBERING_TLS_KEY_FILE: 'gateway.key',
      INSURER_TLS_CERT_FILE: 'insurer.crt',
      INSURER_TLS_KEY_FILE: 'insurer.key',
      INSURER_TLS_CLIENT_CA_FILE: 'ca.crt',
    });
    expect(env.NUMBERING_TLS_CERT_FILE).toBe('gateway.crt');
  });

  it('names the variable of a TLS file that cannot be read', () => {
    expect(() =>
      serverTls('INSURER_TLS_', {
        INSURER_TLS_CERT_FILE: '/nonexistent/insurer.crt',
        INSURER_TLS_KEY_FILE: 'k',
      }),
    ).toThrow('INSURER_TLS_CERT_FILE /nonexistent/insurer.crt cannot be read (ENOENT)');
  });

  it('refuses an empty or non-PEM TLS file, and a certificate with a key not its own, naming the variables', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pmh-tls-'));
    const ca = createPrivateCa({ commonName: 'env test CA' });
    const a = issueCertificate(ca, { commonName: 'a', usage: 'server' });
    const b = issueCertificate(ca, { commonName: 'b', usage: 'server' });
    const write = (name: string, text: string) => {
      writeFileSync(path.join(dir, name), text);
      return path.join(dir, name);
    };
    const [empty, cert, otherKey] = [
      write('empty.pem', ''),
      write('a.crt', a.certPem),
      write('b.key', b.keyPem),
    ];
    try {
      expect(() => serverTls('TLS_', { TLS_CERT_FILE: cert, TLS_KEY_FILE: empty })).toThrow(
        `TLS_KEY_FILE ${empty} holds no PEM block`,
      );
      expect(() =>
        serverTls('TLS_', {
          TLS_CERT_FILE: cert,
          TLS_KEY_FILE: write('a.key', a.keyPem),
          TLS_CLIENT_CA_FILE: empty,
        }),
      ).toThrow('TLS_CLIENT_CA_FILE');
      expect(() => serverTls('TLS_', { TLS_CERT_FILE: cert, TLS_KEY_FILE: otherKey })).toThrow(
        /^TLS_CERT_FILE \/ TLS_KEY_FILE: not a usable TLS setting/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses insurer server TLS files when this process serves no insurer server', () => {
    expect(() =>
      loadEnv({ INSURER_PORT: '0', INSURER_TLS_CERT_FILE: 'c', INSURER_TLS_KEY_FILE: 'k' }),
    ).toThrow(/INSURER_TLS_CERT_FILE: is for the insurer server this process serves/);
  });
});
