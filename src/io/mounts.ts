import { execFile } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join, sep } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One line of the mount table. */
export interface Mount {
  /** The kernel's id of this mount (a new mount of the same device gets a new one; ids are reused). */
  id?: string;
  mountPoint: string;
  fsType: string;
  /** The device or source ("/dev/sdb1", "server:/share", "tmpfs"). */
  source: string;
}

/** "\040" → " ": the kernel escapes space, tab, newline and backslash in mountinfo fields. */
const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));

/** Parses /proc/self/mountinfo (man 5 proc): "id parent maj:min root mountpoint opts [optional…] - fstype source superopts". */
export function parseMountInfo(text: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-', 6);
    if (fields.length < 10 || dash < 0) continue;
    mounts.push({ id: fields[0]!, mountPoint: unescape(fields[4]!), fsType: fields[dash + 1]!, source: unescape(fields[dash + 2]!) });
  }
  return mounts;
}

export const MOUNTINFO = '/proc/self/mountinfo';

/**
 * The mount table as text, or undefined where there is none (not Linux). Polled, not watched:
 * fs.watch and inotify see nothing on /proc files.
 */
export function readMountTable(): string | undefined {
  try {
    return readFileSync(MOUNTINFO, 'utf8');
  } catch {
    return undefined;
  }
}

/** The mount that holds `path` (the longest mount point above its real path; the last of equals), when the table is known. */
export function mountOf(path: string, table: string | undefined): Mount | undefined {
  if (table === undefined) return undefined;
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return undefined;
  }
  let best: Mount | undefined;
  for (const m of parseMountInfo(table)) {
    const inside = real === m.mountPoint || m.mountPoint === '/' || real.startsWith(m.mountPoint + sep);
    if (inside && (!best || m.mountPoint.length >= best.mountPoint.length)) best = m;
  }
  return best;
}

export interface FsLabels {
  uuid?: string;
  label?: string;
}

/**
 * The filesystem UUID and label of a block device: from lsblk (udev's database), else from blkid
 * (which reads the superblock itself, and works where udev keeps no database, as in containers).
 * Empty when neither tool knows, or the source is not a device.
 */
/** A system tool by name: from PATH, else where Debian puts it (cron's PATH has no /usr/sbin). */
function tool(name: string): string {
  for (const dir of [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/sbin', '/usr/bin', '/bin']) {
    if (existsSync(join(dir, name))) return join(dir, name);
  }
  return name;
}

export async function fsLabels(device: string): Promise<FsLabels> {
  if (!device.startsWith('/dev/')) return {};
  try {
    const { stdout } = await run(tool('lsblk'), ['-J', '-o', 'UUID,LABEL', device], { timeout: 5000 });
    const dev = (JSON.parse(stdout) as { blockdevices?: Array<{ uuid: string | null; label: string | null }> }).blockdevices?.[0];
    if (dev?.uuid || dev?.label) return { uuid: dev.uuid ?? undefined, label: dev.label ?? undefined };
  } catch {
    // no lsblk, or it cannot read the device: try blkid
  }
  try {
    // -c /dev/null: read the superblock now, not blkid's cache (a loop device reused for another image keeps its old entry there).
    const { stdout } = await run(tool('blkid'), ['-c', '/dev/null', '-o', 'export', device], { timeout: 5000 });
    const field = (k: string): string | undefined => new RegExp(`^${k}=(.*)$`, 'm').exec(stdout)?.[1]?.replace(/\\(.)/g, '$1');
    return { uuid: field('UUID'), label: field('LABEL') };
  } catch {
    return {};
  }
}
