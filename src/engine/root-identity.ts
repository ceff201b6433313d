import { stat } from 'node:fs/promises';
import { dirKey, identify } from '../io/fs-identity.js';

/**
 * What names the directory at a watched root's path now (device, inode, file handle), to notice the
 * path leads elsewhere (renamed away, made again, another filesystem mounted there); undefined when
 * nothing is there or, with `directoryOnly`, when what is there is not a directory.
 */
export async function rootKey(path: string, directoryOnly = false): Promise<string | undefined> {
  try {
    const key = await dirKey(path);
    if (directoryOnly && !(await stat(path)).isDirectory()) return undefined;
    return key;
  } catch {
    return undefined;
  }
}

/**
 * The identity the index records for a root as it is added (JSON of io/fs-identity's DirIdentity):
 * what tells a remount of the same filesystem from another one mounted in its place.
 */
export async function rootIdentity(path: string): Promise<string> {
  return JSON.stringify(await identify(path));
}
