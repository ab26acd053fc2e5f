import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeDataDir } from '../../src/config/data-dir.js';
import { EnvError } from '../../src/config/env.js';
import { failureMessage, OperatorError } from '../../src/config/errors.js';
import { openDatabase } from '../../src/db/client.js';
import { runMigrations } from '../../src/db/migrate.js';

describe('failureMessage', () => {
  it("gives an operator's error as it is, with no prefix or name", () => {
    expect(failureMessage(new EnvError('PORT: expected a number'), 'pmh-gateway failed to start')).toBe(
      'PORT: expected a number',
    );
  });

  it('says plainly that PostgreSQL cannot be reached, and what to check', async () => {
    // Port 1 on loopback: nothing listens there.
    const database = await openDatabase({ url: 'postgres://nobody@127.0.0.1:1/x' });
    const err = await runMigrations(database).then(
      () => undefined,
      (e: unknown) => e,
    );
    await database.close();
    expect(failureMessage(err, 'pmh-gateway failed to start')).toBe(
      'pmh-gateway failed to start: cannot use the PostgreSQL database of DATABASE_URL: the connection was refused. Check DATABASE_URL, or unset it to use the embedded PGlite under DATA_DIR.',
    );
  });

  it('does not blame PostgreSQL for a missing file, and gives a failed query by its cause, never its parameters', () => {
    const missing = Object.assign(new Error("ENOENT: no such file or directory, open 'x'"), {
      code: 'ENOENT',
      syscall: 'open',
    });
    expect(failureMessage(missing, 'pmh-gateway failed to start')).toBe(
      "pmh-gateway failed to start: Error: ENOENT: no such file or directory, open 'x'",
    );
    const query = new Error('Failed query: insert into t values ($1)\nparams: 123456789018', {
      cause: Object.assign(new Error('duplicate key value violates unique constraint "t_pkey"'), {
        name: 'PostgresError',
      }),
    });
    expect(failureMessage(query, 'pmh-gateway failed to start')).toBe(
      'pmh-gateway failed to start: PostgresError: duplicate key value violates unique constraint "t_pkey"',
    );
    expect(failureMessage(new Error('bad value 123456789018'), 'x')).toBe(
      'x: Error: bad value [redacted-12-digits]',
    );
  });

  it('names anything else with what failed', () => {
    expect(failureMessage(new TypeError('boom'), 'reconciliation failed')).toBe(
      'reconciliation failed: TypeError: boom',
    );
  });
});

describe('makeDataDir', () => {
  it('creates the folder, and names DATA_DIR when a file is in its way', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pmh-data-'));
    try {
      makeDataDir(path.join(dir, 'a', 'b'));
      expect(existsSync(path.join(dir, 'a', 'b'))).toBe(true);
      writeFileSync(path.join(dir, 'file'), '');
      expect(() => makeDataDir(path.join(dir, 'file'))).toThrow(
        `DATA_DIR ${path.join(dir, 'file')} is not a folder`,
      );
      expect(() => makeDataDir(path.join(dir, 'file', 'x'))).toThrow(OperatorError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
