import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fsLabels, parseMountInfo, type FsLabels, type Mount } from '../io/mounts.js';

export { mountOf, MOUNTINFO, parseMountInfo, readMountTable, type Mount } from '../io/mounts.js';
/**
 * The volumes a drive may be on (mount points, their filesystems and labels): what route looks for its
 * drives among, and what a dashboard shows.
 */
export type FsIdentity = FsLabels;
export const fsIdentity = fsLabels;

/** Kernel and container filesystems that are never a drive. */
const PSEUDO = new Set([
  'proc', 'sysfs', 'cgroup', 'cgroup2', 'devpts', 'devtmpfs', 'mqueue', 'debugfs', 'tracefs', 'securityfs', 'pstore', 'bpf',
  'configfs', 'fusectl', 'hugetlbfs', 'autofs', 'binfmt_misc', 'nsfs', 'efivarfs', 'rpc_pipefs', 'selinuxfs',
]);
/**
 * Network filesystems: their mount roots are not probed for markers (a hung server would hang the
 * poll). So are FUSE filesystems of a program (fuse.sshfs, fuse.rclone…); `fuseblk` (exFAT, NTFS on
 * a device) is a drive.
 */
const NETWORK = new Set(['nfs', 'nfs4', 'cifs', 'smb3', 'smbfs', '9p', 'ceph', 'glusterfs', 'afs', 'davfs', 'fuse']);
const isNetwork = (type: string): boolean => NETWORK.has(type) || type.startsWith('fuse.');

/**
 * The places a drive may be mounted: every mount point that can hold one (Linux), or the usual
 * mount folders elsewhere (/Volumes on macOS, /media and /run/media on other systems).
 */
export function mountCandidates(table: string | undefined): Mount[] {
  if (table !== undefined) return parseMountInfo(table).filter((m) => !PSEUDO.has(m.fsType) && !isNetwork(m.fsType));
  const found: Mount[] = [];
  const user = process.env.USER ?? '';
  for (const dir of ['/Volumes', '/media', join('/media', user), join('/run/media', user)]) {
    try {
      for (const name of readdirSync(dir)) found.push({ mountPoint: join(dir, name), fsType: 'unknown', source: '' });
    } catch {
      // not on this system
    }
  }
  return found;
}
