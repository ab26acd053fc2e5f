import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { OperatorError } from '../config/errors.js';

/** Another live process has the PGlite data folder open. */
export class DataDirInUseError extends OperatorError {
  override name = 'DataDirInUseError';
}

interface LockOwner {
  pid: number;
  /** The owner's start time in clock ticks since boot (Linux), to tell a reused pid. */
  started?: string | undefined;
}

/** A process's start time from /proc (field 22 of its stat), or undefined off Linux. */
function startTicks(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function isAlive(owner: LockOwner): boolean {
  if (!Number.isInteger(owner.pid) || owner.pid <= 0) return false;
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = startTicks(owner.pid);
  return !(owner.started && now && now !== owner.started);
}

function readOwner(file: string): LockOwner | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockOwner;
  } catch {
    return undefined;
  }
}

/**
 * Takes the one-process lock of a PGlite data folder: the file `<dataDir>.lock` holding this
 * process's pid. PGlite has no lock of its own, and two processes writing one folder corrupt
 * it; a second start (or `pmh:reconcile` beside a running gateway) is refused instead. A lock
 * left by a process that is gone (killed, crashed) is taken over. Returns the release, which
 * is also run when the process exits.
 *
 * @example
 * const release = lockDataDir('data/pglite'); // throws DataDirInUseError if held
 */
export function lockDataDir(dataDir: string): () => void {
  const file = `${dataDir}.lock`;
  const me: LockOwner = { pid: process.pid, started: startTicks(process.pid) };
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, JSON.stringify(me));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = readOwner(file);
      if (attempt > 0 || (owner && isAlive(owner)))
        throw new DataDirInUseError(
          `The data folder ${dataDir} is in use by another process${owner ? ` (pid ${owner.pid})` : ''}. PGlite allows one process at a time: stop that one first, or set DATABASE_URL to use PostgreSQL.`,
        );
      unlinkSync(file); // left by a process that is gone
    }
  }
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    process.off('exit', release);
    if (readOwner(file)?.pid === me.pid) unlinkSync(file);
  };
  process.on('exit', release);
  return release;
}
