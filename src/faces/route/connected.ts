import { fsIdentity, mountCandidates, readMountTable } from '../../engine/volumes.js';
import type { RouteConfig } from './config.js';
import { readMarker } from './drives.js';

/** A mounted volume that could be a drive, and the drive it is when it carries a marker. */
export interface ConnectedVolume {
  mountPoint: string;
  fsType: string;
  device: string;
  label: string | null;
  uuid: string | null;
  /** The drive's label, or null for a volume without a marker. */
  drive: string | null;
}

/** The mounted volumes that could be drives (block devices, and registered directories that are here). */
export async function connectedVolumes(config: RouteConfig): Promise<ConnectedVolume[]> {
  const out: ConnectedVolume[] = [];
  const places = mountCandidates(readMountTable()).filter((m) => m.source.startsWith('/dev/') || m.fsType === 'unknown');
  for (const d of config.drives) if (d.path && !places.some((p) => p.mountPoint === d.path)) places.push({ mountPoint: d.path, fsType: 'directory', source: '' });
  for (const m of places) {
    const marker = await readMarker(m.mountPoint);
    if (m.fsType === 'directory' && !marker) continue;
    const id = await fsIdentity(m.source);
    const drive = marker ? (config.drives.find((d) => d.id === marker.id)?.label ?? `${marker.label} (not in this configuration)`) : null;
    out.push({ mountPoint: m.mountPoint, fsType: m.fsType, device: m.source, label: id.label ?? null, uuid: id.uuid ?? null, drive });
  }
  return out;
}
