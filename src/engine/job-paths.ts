import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stateDir } from '../core/defaults.js';
import { isWithin } from '../io/containment.js';
import { FerryError, describeFileError } from '../core/errors.js';

/**
 * Where a copy job stands: its two roots and ferry's own files beside them. Every face that runs a
 * job (`ferry copy`, `ferry watch --target`) resolves them here, so both refuse the same trees and
 * find the same database for the same pair.
 */

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
  // By device and inode along each path: a bind mount or a symlink of the source is the source.
  if (isWithin(src, dst)) {
    throw new FerryError('USAGE', `The destination ${dst} is inside the source ${src}; ferry would copy its own copies.`);
  }
  if (isWithin(dst, src)) {
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
  for (const [name, root] of [['source', roots.source], ['destination', roots.destination]] as const) {
    if (isWithin(root, path)) {
      throw new FerryError('USAGE', `${what} ${path} is inside the ${name} ${root}; put it outside both trees.`);
    }
  }
}

/** Where a job's state lives by default: one database per SOURCE → DESTINATION pair. */
export function defaultDbPath(source: string, destination: string, env = process.env): string {
  const id = createHash('sha256').update(`${source}\0${destination}`).digest('hex').slice(0, 16);
  return join(stateDir(env), `copy-${id}.db`);
}

/** The audit log sits beside the database unless `--log` says otherwise. */
export function defaultLogPath(db: string): string {
  return db.endsWith('.db') ? `${db.slice(0, -3)}.log` : `${db}.log`;
}
