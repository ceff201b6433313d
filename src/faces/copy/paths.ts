import { createHash } from 'node:crypto';
import { realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { FerryError, describeFileError } from '../../core/errors.js';

/** The real path of `p`, or of its nearest existing ancestor joined with the missing rest. */
function realish(p: string): string {
  const abs = resolve(p);
  try {
    return realpathSync(abs);
  } catch {
    const parent = dirname(abs);
    return parent === abs ? abs : join(realish(parent), abs.slice(parent.length + 1));
  }
}

function inside(child: string, parent: string): boolean {
  const r = relative(parent, child);
  return r === '' || (r !== '..' && !r.startsWith(`..${sep}`) && !isAbsolute(r));
}

/**
 * Resolves SOURCE and DESTINATION to absolute paths and checks them: the source must be a readable
 * directory (SOURCE_UNAVAILABLE), and neither may contain the other (USAGE).
 */
export function resolveRoots(source: string, destination: string): { source: string; destination: string } {
  const src = resolve(source);
  let st;
  try {
    st = statSync(src);
  } catch (err) {
    throw new FerryError('SOURCE_UNAVAILABLE', `The source ${src} cannot be read: ${describeFileError(err)}.`, { cause: err });
  }
  if (!st.isDirectory()) throw new FerryError('SOURCE_UNAVAILABLE', `The source ${src} is not a directory.`);
  const dst = resolve(destination);
  const realSrc = realish(src);
  const realDst = realish(dst);
  if (inside(realDst, realSrc)) {
    throw new FerryError('USAGE', `The destination ${dst} is inside the source ${src}; ferry would copy its own copies.`);
  }
  if (inside(realSrc, realDst)) {
    throw new FerryError('USAGE', `The source ${src} is inside the destination ${dst}; a mirror could delete the source.`);
  }
  return { source: src, destination: dst };
}

/**
 * Refuses a path of ferry's own (the database, the audit log, the trash) inside the source (it
 * would modify the source) or inside the destination (the mirror would delete it, the next scan
 * would copy it).
 */
export function assertOutsideRoots(path: string, what: string, roots: { source: string; destination: string }): void {
  const real = realish(path);
  for (const [name, root] of [['source', roots.source], ['destination', roots.destination]] as const) {
    if (inside(real, realish(root))) {
      throw new FerryError('USAGE', `${what} ${path} is inside the ${name} ${root}; put it outside both trees.`);
    }
  }
}

/** Where a job's state lives by default: one database per SOURCE → DESTINATION pair. */
export function defaultDbPath(source: string, destination: string, env = process.env): string {
  const base = env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  const id = createHash('sha256').update(`${source}\0${destination}`).digest('hex').slice(0, 16);
  return join(base, 'ferry', `copy-${id}.db`);
}

/** The audit log sits beside the database unless `--log` says otherwise. */
export function defaultLogPath(db: string): string {
  return db.endsWith('.db') ? `${db.slice(0, -3)}.log` : `${db}.log`;
}
