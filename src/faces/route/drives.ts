import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FerryError } from '../../core/errors.js';
import { overlap } from '../../engine/overlap.js';
import { writeFileWhole } from '../../engine/write-file-whole.js';
import type { RouteDrive } from './config.js';
import { fsIdentity, mountCandidates, type FsIdentity, type Mount } from '../../engine/volumes.js';

/** The file at a drive's root that says which ferry drive it is. */
export const MARKER = '.ferry-drive.json';

export interface DriveMarker {
  ferry: 'route-drive';
  id: string;
  label: string;
  category: string;
  registered: string;
}

/** The marker in `dir`, or undefined when there is none (or it is not a ferry marker). Never throws. */
export async function readMarker(dir: string): Promise<DriveMarker | undefined> {
  try {
    const m = JSON.parse(await readFile(join(dir, MARKER), 'utf8')) as Partial<DriveMarker>;
    if (m.ferry === 'route-drive' && typeof m.id === 'string' && m.id.length > 0) return m as DriveMarker;
  } catch {
    // no marker, an unreadable one, or not JSON: not a ferry drive
  }
  return undefined;
}

/** Writes the marker whole (temp, fsync, rename, fsync of the directory). */
export function writeMarker(dir: string, marker: DriveMarker): Promise<void> {
  return writeFileWhole(join(dir, MARKER), `${JSON.stringify(marker, null, 2)}\n`);
}

export function newMarker(label: string, category: string, id: string = randomUUID()): DriveMarker {
  return { ferry: 'route-drive', id, label, category, registered: new Date().toISOString() };
}

/** A registered drive found, and where. */
export interface DriveLocation {
  drive: RouteDrive;
  /** The directory that holds its marker: deliveries go to `root/folder`. */
  root: string;
}

/** A volume ferry will not write to: it looks like a registered drive, but its marker does not say so. */
export interface Refusal {
  drive: RouteDrive;
  location: string;
  reason: string;
}

/**
 * Finds the registered drives that are here: a mount point (or a drive's registered path) whose
 * marker names the drive. A volume with a drive's filesystem UUID, or a drive's registered path,
 * whose marker is missing or names another drive is refused, never written to.
 */
export class DriveLocator {
  private readonly identities = new Map<string, Promise<FsIdentity>>();

  /** `source`: a place inside it, equal to it or holding it is never a drive (ferry would deliver into what it reads). */
  constructor(
    private drives: readonly RouteDrive[],
    private readonly source?: string,
  ) {}

  setDrives(drives: readonly RouteDrive[]): void {
    this.drives = drives;
  }

  private identity(m: Mount): Promise<FsIdentity> {
    const key = `${m.id ?? ''}\0${m.source}\0${m.mountPoint}`;
    let p = this.identities.get(key);
    if (!p) {
      p = fsIdentity(m.source);
      this.identities.set(key, p);
    }
    return p;
  }

  async locate(table: string | undefined): Promise<{ online: Map<string, DriveLocation>; refused: Refusal[] }> {
    const byId = new Map(this.drives.map((d) => [d.id, d]));
    const mounts = mountCandidates(table);
    const places = new Map<string, Mount | undefined>(mounts.map((m) => [m.mountPoint, m]));
    for (const d of this.drives) if (d.path && !places.has(d.path)) places.set(d.path, undefined);
    const online = new Map<string, DriveLocation>();
    const markers = new Map<string, DriveMarker | undefined>();
    const refused: Refusal[] = [];
    for (const [place, mount] of places) {
      const marker = await readMarker(place);
      markers.set(place, marker);
      const drive = marker && byId.get(marker.id);
      if (!drive || online.has(drive.id)) continue;
      const overlap = this.source === undefined ? undefined : sourceOverlap(place, this.source);
      if (overlap) {
        refused.push({ drive, location: place, reason: overlap });
        continue;
      }
      // A marker copied onto another volume does not make it the drive: where both are known, the filesystem UUID must agree.
      if (drive.fsUuid && mount?.source.startsWith('/dev/')) {
        const uuid = (await this.identity(mount)).uuid;
        if (uuid && uuid !== drive.fsUuid) {
          refused.push({ drive, location: place, reason: `its marker names ${drive.label}, but its filesystem UUID is ${uuid}, not ${drive.fsUuid} (a copied marker?)` });
          continue;
        }
      }
      online.set(drive.id, { drive, root: place });
    }
    const away = this.drives.filter((d) => !online.has(d.id));
    for (const d of away) {
      // An empty mount point is only "away"; a volume mounted on it without the drive's marker is refused.
      if (d.path && markers.has(d.path) && mounts.some((m) => m.mountPoint === d.path)) {
        const m = markers.get(d.path);
        refused.push({ drive: d, location: d.path, reason: m ? `its marker names another drive (${m.label})` : 'it has no ferry marker' });
      }
    }
    if (away.some((d) => d.fsUuid)) {
      for (const m of mounts) {
        if (!m.source.startsWith('/dev/')) continue;
        const id = await this.identity(m);
        const d = id.uuid ? away.find((x) => x.fsUuid === id.uuid) : undefined;
        if (!d || online.has(d.id) || refused.some((r) => r.location === m.mountPoint)) continue;
        const marker = markers.get(m.mountPoint);
        refused.push({ drive: d, location: m.mountPoint, reason: `it has the filesystem UUID of ${d.label} but ${marker ? `its marker names another drive (${marker.label})` : 'no ferry marker'}` });
      }
    }
    return { online, refused };
  }
}

/**
 * Why `place` cannot be a drive of a router whose source is `source`, or undefined: a drive inside
 * the source, equal to it or holding it would receive copies the next scan finds as new files (and
 * its marker would be written into the source). Judged by device and inode, not path letters.
 */
export function sourceOverlap(place: string, source: string): string | undefined {
  switch (overlap(place, source)) {
    case 'same': return `it is the source ${source} itself`;
    case 'inside': return `it is inside the source ${source}`;
    case 'holds': return `it holds the source ${source}`;
    default: return undefined;
  }
}

/** Throws a USAGE error unless `dir` is a writable directory. */
export async function checkDriveDir(dir: string): Promise<void> {
  let s;
  try {
    s = await stat(dir);
  } catch {
    throw new FerryError('USAGE', `${dir} does not exist: mount the drive, or give its mount point with --path.`);
  }
  if (!s.isDirectory()) throw new FerryError('USAGE', `${dir} is not a directory.`);
  try {
    await access(dir, constants.W_OK);
  } catch {
    throw new FerryError('DEST_UNAVAILABLE', `${dir} is not writable: ferry needs to write its marker there.`);
  }
}
