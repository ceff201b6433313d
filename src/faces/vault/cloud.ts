import { FerryError } from '../../core/errors.js';
import type { Tools } from './vault.js';

/** rclone's exit codes for "directory not found" and "file not found": absent, not a failure. */
const ABSENT = [3, 4];

/** A small file of the cloud as text, or undefined when it is not there. */
export async function readCloud(t: Tools, path: string, what: string): Promise<string | undefined> {
  const r = await t.run('rclone', ['cat', path], { what, ok: ABSENT });
  return r.code === 0 ? r.stdout : undefined;
}

/** Writes a small file of the cloud whole from text. */
export async function writeCloud(t: Tools, path: string, text: string, what: string): Promise<void> {
  await t.rclone(['rcat', path], what, { input: text });
}

/** Removes a file of the cloud; one already gone is fine. */
export async function removeCloud(t: Tools, path: string, what: string): Promise<void> {
  await t.run('rclone', ['deletefile', path], { what, ok: ABSENT });
}

export interface CloudEntry {
  Path: string;
  Name: string;
  Size: number;
  ModTime?: string;
  IsDir: boolean;
  Hashes?: Record<string, string>;
}

/** The entries below a directory of the cloud (recursively with `recursive`); none when it is absent. */
export async function listCloud(t: Tools, path: string, what: string, opts: { recursive?: boolean; filesOnly?: boolean; hash?: boolean; include?: string[] } = {}): Promise<CloudEntry[]> {
  const args = ['lsjson', path, '--no-mimetype'];
  if (opts.recursive) args.push('-R');
  if (opts.filesOnly) args.push('--files-only');
  if (opts.hash) args.push('--hash', '--hash-type', 'sha256');
  for (const i of opts.include ?? []) args.push('--include', i);
  const r = await t.run('rclone', args, { what, ok: ABSENT });
  if (r.code !== 0) return [];
  try {
    return JSON.parse(r.stdout) as CloudEntry[];
  } catch {
    throw new FerryError('TOOL_FAILED', `rclone could not ${what}: its listing was not JSON.`, { detail: r.stdout.slice(0, 2000) });
  }
}
