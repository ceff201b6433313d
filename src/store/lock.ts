import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { errnoCode, FerryError } from '../core/errors.js';

/**
 * Whether `pid` is a running process. A zombie is not: a process killed with SIGKILL stays one
 * until its parent reaps it (or forever, when the parent died too and nothing reaps orphans, as in
 * many containers), and kill(pid, 0) still succeeds on it.
 */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S …"; comm may hold spaces and parentheses, the state follows the last ")".
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return true; // no /proc (not Linux): trust kill(pid, 0)
  }
}

/**
 * Takes `${path}.lock` for this process. A lock whose process is gone (a crash, `kill -9`) is
 * taken over; a live one rejects with STORE_LOCKED. Returns the release function.
 */
export function acquireLock(path: string): () => void {
  const lockPath = `${path}.lock`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => {
        try {
          // Only our own lock: a process that took over a lock it judged stale owns it now.
          if (Number.parseInt(readFileSync(lockPath, 'utf8'), 10) === process.pid) unlinkSync(lockPath);
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') {
        throw new FerryError('CONFIG', `Cannot lock the database ${path}: ${(err as Error).message}.`, { cause: err });
      }
    }
    const pid = Number.parseInt(readFileSync(lockPath, 'utf8').trim(), 10);
    if (Number.isInteger(pid) && pid !== process.pid && alive(pid)) {
      throw new FerryError('STORE_LOCKED', `Another ferry process (pid ${pid}) is using the database ${path}.`, {
        hint: 'Wait for it to finish, or stop it; ferry resumes where it left off.',
      });
    }
    try {
      unlinkSync(lockPath); // stale: its process is gone
    } catch {
      // someone else took it over first; try again
    }
  }
  throw new FerryError('STORE_LOCKED', `Could not take the lock on the database ${path}.`);
}
