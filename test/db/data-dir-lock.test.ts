import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.js';
import { DataDirInUseError, lockDataDir } from '../../src/db/data-dir-lock.js';

const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});
/** A data folder's path in a fresh temporary folder (removed after the file). */
function folder(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pmh-lock-'));
  made.push(dir);
  return path.join(dir, 'pglite');
}

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
      /in use by another process: process \d+ holds .*DATABASE_URL/,
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
      expect(() => lockDataDir(dataDir)).toThrow(`process ${other.pid} holds`);
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

  it('leaves a lock it cannot judge alone (not its own format, another host) and names it', () => {
    const dataDir = folder();
    writeFileSync(`${dataDir}.lock`, 'not json');
    expect(() => lockDataDir(dataDir)).toThrow(`delete ${dataDir}.lock`);
    writeFileSync(`${dataDir}.lock`, JSON.stringify({ pid: 1, host: 'another-host' }));
    expect(() => lockDataDir(dataDir)).toThrow(/on host another-host/);
    expect(readFileSync(`${dataDir}.lock`, 'utf8'), 'still theirs').toContain('another-host');
  });

  it.skipIf(!existsSync('/proc/sys/kernel/random/boot_id'))(
    'takes over a lock written before a reboot, even if its pid is alive now',
    () => {
      const dataDir = folder();
      writeFileSync(
        `${dataDir}.lock`,
        JSON.stringify({ pid: process.pid, host: hostname(), boot: 'an-earlier-boot' }),
      );
      lockDataDir(dataDir)();
      expect(existsSync(`${dataDir}.lock`)).toBe(false);
    },
  );

  it('leaves no file of its own behind but the lock, and after release none at all', () => {
    const dataDir = folder();
    const release = lockDataDir(dataDir);
    expect(readdirSync(path.dirname(dataDir))).toEqual(['pglite.lock']);
    release();
    expect(readdirSync(path.dirname(dataDir))).toEqual([]);
  });
});
