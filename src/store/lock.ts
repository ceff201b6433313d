import { closeSync, constants, fstatSync, ftruncateSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { describeFileError, errnoCode, FerryError } from '../core/errors.js';
import { realish } from '../io/containment.js';
import { addon } from '../io/native.js';

function locked(path: string, pid: number): FerryError {
  const who = !Number.isInteger(pid) ? 'Another ferry process' : pid === process.pid ? `This process (pid ${pid})` : `Another ferry process (pid ${pid})`;
  return new FerryError('STORE_LOCKED', `${who} is using the database ${path}.`, {
    hint: 'Wait for it to finish, or stop it; ferry resumes where it left off.',
  });
}

function cannotLock(path: string, err: unknown): FerryError {
  return new FerryError('CONFIG', `Cannot lock the database ${path}: ${describeFileError(err)}.`, { cause: err });
}

function readPid(lockPath: string): number {
  try {
    return Number.parseInt(readFileSync(lockPath, 'utf8').trim(), 10);
  } catch {
    return Number.NaN;
  }
}

/**
 * Takes `${path}.lock` for this process: one writer per database. The lock is the kernel's
 * (flock(2) through the native helper): it goes with the process however it ends (a crash,
 * `kill -9`, a zombie nobody reaps), so a lock left behind needs no guessing, and two processes
 * can never both hold it. The file holds the holder's pid, for the message the next one gets. The
 * holder removes it on release while it still holds the lock; so a process that locked a file of
 * that name checks, once it holds the lock, that the name still leads to the file it locked, and
 * tries again if not (else two holders could each lock a different file of the same name).
 * A live holder rejects with STORE_LOCKED. Returns the release.
 */
export function acquireLock(path: string): () => void {
  // One lock per database, whatever name it is reached by (a symlink to it, a path through one).
  const lockPath = `${realish(path)}.lock`;
  if (!addon) return acquirePidLock(path, lockPath);
  let fd: number | undefined;
  for (let attempt = 0; fd === undefined; attempt++) {
    let opened: number;
    try {
      // Never through a symlink: a link put there would have ferry truncate whatever it leads to.
      opened = openSync(lockPath, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o644);
    } catch (err) {
      throw cannotLock(path, err);
    }
    if (!fstatSync(opened).isFile()) {
      closeSync(opened);
      throw new FerryError('CONFIG', `Cannot lock the database ${path}: ${lockPath} is not a regular file.`);
    }
    try {
      addon.flock(opened, true, false);
    } catch (err) {
      closeSync(opened);
      if (errnoCode(err) === 'EAGAIN') throw locked(path, readPid(lockPath));
      throw cannotLock(path, err);
    }
    let same = false;
    try {
      const held = fstatSync(opened);
      const named = statSync(lockPath);
      same = held.ino === named.ino && held.dev === named.dev;
    } catch {
      // removed by the holder that just let go: try again
    }
    if (same) fd = opened;
    else {
      closeSync(opened);
      if (attempt >= 100) throw new FerryError('STORE_LOCKED', `Could not take the lock on the database ${path}.`);
    }
  }
  try {
    ftruncateSync(fd, 0);
    writeSync(fd, `${process.pid}\n`, 0);
  } catch {
    // the pid is for messages only; the lock holds
  }
  let held = true;
  const locked_ = fd;
  return () => {
    if (!held) return;
    held = false;
    try {
      unlinkSync(lockPath); // while still holding it: see above
    } catch {
      // already gone
    }
    closeSync(locked_); // releases the flock
  };
}

/**
 * Whether some process holds the lock of the database at `path` now (read without taking it: a
 * reader asks whether a writer, a watcher say, is at work).
 */
export function lockHeld(path: string): boolean {
  const lockPath = `${realish(path)}.lock`;
  if (!addon) {
    const pid = readPid(lockPath);
    return Number.isInteger(pid) && pidAlive(pid);
  }
  let st;
  try {
    st = statSync(lockPath);
  } catch {
    return false; // a holder removes it as it lets go
  }
  // Read from the kernel's table, without taking the lock (a probe that took it, even shared, would
  // make a writer starting that moment think the database in use).
  let table: string;
  try {
    table = readFileSync('/proc/locks', 'utf8');
  } catch {
    return Number.isInteger(readPid(lockPath)) && pidAlive(readPid(lockPath));
  }
  const major = Math.floor(st.dev / 256) & 0xfff; // Linux's dev_t: major in bits 8–19, minor in 0–7 and 20–31
  const minor = (st.dev & 0xff) | ((Math.floor(st.dev / 1048576) & 0xfff) << 8);
  const id = `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}:${st.ino}`;
  return table.split('\n').some((line) => line.includes(' FLOCK ') && line.split(/\s+/).includes(id));
}

/**
 * Whether `pid` is a running process. A zombie is not: a process killed with SIGKILL stays one
 * until its parent reaps it, and kill(pid, 0) still succeeds on it.
 */
export function pidAlive(pid: number): boolean {
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
 * Without the native helper: a lock file created exclusively, holding the pid; one whose process is
 * gone is taken over. Weaker than flock (two processes taking over the same stale lock at the same
 * moment can both succeed); ferry says so when it runs without the helper.
 */
function acquirePidLock(path: string, lockPath: string): () => void {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(lockPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => {
        try {
          if (readPid(lockPath) === process.pid) unlinkSync(lockPath);
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw cannotLock(path, err);
    }
    const pid = readPid(lockPath);
    // An empty file is what a flock holder leaves when it lets go: free.
    if (Number.isInteger(pid) && pid !== process.pid && pidAlive(pid)) throw locked(path, pid);
    try {
      unlinkSync(lockPath); // stale: its process is gone
    } catch {
      // someone else took it over first; try again
    }
  }
  throw new FerryError('STORE_LOCKED', `Could not take the lock on the database ${path}.`);
}
