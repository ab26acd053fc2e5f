import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.js';
import { DataDirInUseError, lockDataDir } from '../../src/db/data-dir-lock.js';

const folder = () => path.join(mkdtempSync(path.join(tmpdir(), 'pmh-lock-')), 'pglite');

/** A live process that is not this one, and its start time as the lock records it. */
async function otherProcess() {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('spawn', resolve));
  const pid = child.pid as number;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const started = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    child.kill();
    await exited;
  };
  return { pid, started, stop };
}

describe('the PGlite data folder lock', () => {
  it('refuses a second opening of one folder with a clear message, and frees it on close', async () => {
    const dataDir = folder();
    const first = await openDatabase({ dataDir });
    await expect(openDatabase({ dataDir })).rejects.toThrow(DataDirInUseError);
    await expect(openDatabase({ dataDir })).rejects.toThrow(
      /in use by another process \(pid \d+\).*DATABASE_URL/,
    );
    expect(existsSync(`${dataDir}.lock`)).toBe(true);
    await first.close();
    expect(existsSync(`${dataDir}.lock`), 'closing removes the lock').toBe(false);
    lockDataDir(dataDir)();
  });

  it.skipIf(process.platform !== 'linux')(
    'refuses while another live process holds it, and takes it over once that process is gone',
    async () => {
      const dataDir = folder();
      const other = await otherProcess();
      writeFileSync(`${dataDir}.lock`, JSON.stringify({ pid: other.pid, started: other.started }));
      expect(() => lockDataDir(dataDir)).toThrow(new RegExp(`pid ${other.pid}`));
      await other.stop();
      const release = lockDataDir(dataDir);
      expect(JSON.parse(readFileSync(`${dataDir}.lock`, 'utf8')).pid).toBe(process.pid);
      release();
    },
  );

  it.skipIf(process.platform !== 'linux')(
    'takes over a lock whose pid now belongs to another process',
    () => {
      const dataDir = folder();
      // Our own pid, but started at another time: the process that wrote it is gone.
      writeFileSync(`${dataDir}.lock`, JSON.stringify({ pid: process.pid, started: '1' }));
      const release = lockDataDir(dataDir);
      expect(() => lockDataDir(dataDir), 'and now it is ours').toThrow(DataDirInUseError);
      release();
      expect(existsSync(`${dataDir}.lock`)).toBe(false);
    },
  );

  it('takes over a lock file that cannot be read', () => {
    const dataDir = folder();
    writeFileSync(`${dataDir}.lock`, 'not json');
    const release = lockDataDir(dataDir);
    release();
    expect(existsSync(`${dataDir}.lock`)).toBe(false);
  });
});
