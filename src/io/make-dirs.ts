import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileError } from '../core/errors.js';

const code = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | undefined)?.code;

/**
 * `mkdir -p` that says what went wrong and never loops. Node's recursive mkdir retries forever
 * where the parent exists but the filesystem answers ENOENT to a new directory (/proc), and reports
 * ENOENT where a read-only filesystem answered EROFS. Here each missing directory is made once,
 * from the nearest existing one down, and its own error is thrown.
 */
export function makeDirs(path: string, mode = 0o777): void {
  const missing: string[] = [];
  for (let p = resolve(path); ; ) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch (err) {
      // ENOTDIR: a file further up; the walk up finds it and names it.
      if (code(err) !== 'ENOENT' && code(err) !== 'ENOTDIR') throw err;
      missing.push(p);
      const up = dirname(p);
      if (up === p) throw err;
      p = up;
      continue;
    }
    if (!isDir) throw fileError('ENOTDIR', `${p} is not a directory`);
    break;
  }
  for (const dir of missing.reverse()) {
    try {
      mkdirSync(dir, { mode });
    } catch (err) {
      if (code(err) === 'EEXIST') continue;
      // ENOENT with the parent there: a filesystem that makes no directories (procfs, sysfs).
      if (code(err) === 'ENOENT') throw fileError('EPERM', `${dirname(dir)} does not allow new directories in it`);
      throw err;
    }
  }
}
