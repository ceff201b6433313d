import { describeFileError, FerryError } from '../../core/errors.js';
import { appendDrive } from './config-file.js';
import type { RouteConfig, RouteDrive } from './config.js';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { checkDriveDir, MARKER, newMarker, readMarker, sourceOverlap, writeMarker } from './drives.js';
import { BUILTIN_CATEGORIES } from './mime-tables.js';
import { fsIdentity, mountCandidates, mountOf, readMountTable, type FsIdentity } from '../../engine/volumes.js';

export interface RegisterRequest {
  label: string;
  category: string;
  /** The drive's mount point (or any directory, for a directory-backed drive); found by filesystem label when absent. */
  path?: string;
}

/** The mounted volume whose filesystem label is `label` (exactly, else ignoring case). */
async function findByLabel(label: string): Promise<{ path: string; identity: FsIdentity }> {
  const found: Array<{ path: string; identity: FsIdentity }> = [];
  for (const m of mountCandidates(readMountTable())) {
    if (!m.source.startsWith('/dev/')) continue;
    const identity = await fsIdentity(m.source);
    if (identity.label !== undefined) found.push({ path: m.mountPoint, identity });
  }
  const exact = found.filter((f) => f.identity.label === label);
  const loose = exact.length > 0 ? exact : found.filter((f) => f.identity.label!.toLowerCase() === label.toLowerCase());
  if (loose.length === 1) return loose[0]!;
  if (loose.length === 0) {
    throw new FerryError('USAGE', `No mounted volume has the label "${label}".`, { hint: 'Mount the drive, or give its mount point with --path.' });
  }
  throw new FerryError('USAGE', `${loose.length} mounted volumes have the label "${label}" (${loose.map((f) => f.path).join(', ')}).`, {
    hint: 'Say which with --path.',
  });
}

/**
 * Registers a drive: writes its marker (keeping the id of a marker an earlier registration left, so
 * a drive known to another configuration stays the same drive), records its filesystem UUID and
 * label where the system exposes them, and adds it to the configuration.
 */
export async function registerDrive(config: RouteConfig, req: RegisterRequest): Promise<{ drive: RouteDrive; adopted: boolean }> {
  const label = req.label.trim();
  const category = req.category.trim().toLowerCase();
  if (!label) throw new FerryError('USAGE', '--label must not be empty.');
  const known = [...BUILTIN_CATEGORIES, ...config.rules.map((r) => r.category)];
  if (!known.includes(category)) {
    throw new FerryError('USAGE', `"${req.category}" is not a category: use one of ${[...new Set(known)].join(', ')}, or add a [[rule]] for it.`);
  }
  const same = config.drives.find((d) => d.label.toLowerCase() === label.toLowerCase());
  if (same) throw new FerryError('USAGE', `A drive labelled "${same.label}" is already registered (for ${same.category}).`);
  let path: string;
  let identity: FsIdentity;
  if (req.path) {
    path = req.path;
    await checkDriveDir(path);
    const mount = mountOf(path, readMountTable());
    identity = mount && mount.mountPoint === path ? await fsIdentity(mount.source) : {};
  } else {
    ({ path, identity } = await findByLabel(label));
    await checkDriveDir(path);
  }
  const overlap = sourceOverlap(path, config.source);
  if (overlap) throw new FerryError('USAGE', `${path} cannot be a drive: ${overlap}; nothing was registered.`, { hint: 'A drive must be outside the source, and must not hold it.' });
  const existing = await readMarker(path);
  const owner = existing && config.drives.find((d) => d.id === existing.id);
  if (owner) throw new FerryError('USAGE', `${path} is already registered as the drive "${owner.label}".`);
  const marker = newMarker(label, category, existing?.id);
  try {
    await writeMarker(path, marker);
  } catch (err) {
    throw new FerryError('DEST_UNAVAILABLE', `Cannot write the drive's marker in ${path}: ${describeFileError(err)}; nothing was registered.`, { cause: err });
  }
  const drive: RouteDrive = { id: marker.id, label, category, folder: '', fsUuid: identity.uuid, fsLabel: identity.label, path };
  try {
    await appendDrive(config.file, drive);
  } catch (err) {
    // Not registered after all: the drive goes back to how it was (no marker, or the one it had).
    await (existing ? writeMarker(path, existing) : rm(join(path, MARKER), { force: true })).catch(() => undefined);
    throw err;
  }
  return { drive, adopted: existing !== undefined };
}
