import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { OperatorError } from '../config/errors.js';

/** Another live process has the PGlite data folder open (or the lock cannot be judged). */
export class DataDirInUseError extends OperatorError {
  override name = 'DataDirInUseError';
}

interface LockOwner {
  pid: number;
  host?: string | undefined;
  /** The kernel's boot id (Linux): a lock from another boot is stale whatever its pid. */
  boot?: string | undefined;
  /** The owner's start time in clock ticks since boot (Linux), to tell a reused pid. */
  started?: string | undefined;
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** A process's start time from /proc (field 22 of its stat), or undefined off Linux. */
function startTicks(pid: number): string | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  // The command name (field 2) is in parentheses and may hold spaces: count after the last ')'.
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

function bootId(): string | undefined {
  return readText('/proc/sys/kernel/random/boot_id');
}

/** Whether the process that wrote the lock is gone (only ever judged for this host). */
function isGone(owner: LockOwner): boolean {
  if (!Number.isInteger(owner.pid) || owner.pid <= 0) return false;
  const boot = bootId();
  if (owner.boot && boot && owner.boot !== boot) return true; // written before a reboot
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  const now = startTicks(owner.pid);
  return Boolean(owner.started && now && now !== owner.started); // the pid was reused
}

type Judgement = { gone: true; text: string } | { gone: false; why: string };

function judge(file: string): Judgement | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // released meanwhile
    return { gone: false, why: `its lock ${file} cannot be read (${(err as NodeJS.ErrnoException).code})` };
  }
  let owner: LockOwner;
  try {
    owner = JSON.parse(text) as LockOwner;
  } catch {
    return { gone: false, why: `its lock ${file} is not one this program wrote` };
  }
  if (owner.host && owner.host !== hostname())
    return { gone: false, why: `process ${owner.pid} on host ${owner.host} holds ${file}` };
  if (!isGone(owner)) return { gone: false, why: `process ${owner.pid} holds ${file}` };
  return { gone: true, text };
}

/**
 * Takes the one-process lock of a PGlite data folder: the file `<dataDir>.lock` holding this
 * process's pid, host, boot and start time. PGlite has no lock of its own, and two processes
 * writing one folder corrupt it; a second start (or `pmh:reconcile` beside a running gateway)
 * is refused instead. The lock appears whole or not at all (written aside, then linked into
 * place); a lock left by a process that is gone (killed, crashed, before a reboot) is taken over
 * by moving it aside first, so that of two starters only one takes it. A lock that cannot be
 * judged (unreadable, foreign, another host's) is left alone and named in the refusal. Returns
 * the release, which also runs when the process exits.
 *
 * @example
 * const release = lockDataDir('data/pglite'); // throws DataDirInUseError if held
 */
export function lockDataDir(dataDir: string): () => void {
  const file = `${dataDir}.lock`;
  const me: LockOwner = {
    pid: process.pid,
    host: hostname(),
    boot: bootId(),
    started: startTicks(process.pid),
  };
  const mine = JSON.stringify(me);
  const refuse = (why: string) =>
    new DataDirInUseError(
      `The data folder ${dataDir} is in use by another process: ${why}. PGlite allows one process at a time: stop that one first (or, if none is running, delete ${file}), or set DATABASE_URL to use PostgreSQL.`,
    );
  const aside = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(aside, mine, { mode: 0o600 });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(aside, file);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 5) throw err;
      }
      const judgement = judge(file);
      if (!judgement) continue;
      if (!judgement.gone) throw refuse(judgement.why);
      // Move the stale lock aside; if what was moved is not what was judged, another starter
      // took over in between: put theirs back and give way.
      const moved = `${file}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
      try {
        renameSync(file, moved);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      if (readText(moved) !== judgement.text.trim()) {
        try {
          linkSync(moved, file);
        } catch {}
        unlinkSync(moved);
        throw refuse('another process took the lock over just now');
      }
      unlinkSync(moved);
    }
  } finally {
    unlinkSync(aside);
  }
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    process.off('exit', release);
    if (readText(file) === mine) unlinkSync(file);
  };
  process.on('exit', release);
  return release;
}
