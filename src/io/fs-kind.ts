import { statfs } from 'node:fs/promises';

/** statfs(2) f_type of the filesystems reached over a network (linux/magic.h, fs/smb, fs/ceph). */
export const FUSE_SUPER_MAGIC = 0x65735546;
const NETWORK_MAGIC = new Set([
  FUSE_SUPER_MAGIC, // sshfs, rclone mount, s3fs, …
  0x6969, // NFS
  0xff534d42, // CIFS
  0xfe534d42, // SMB2
  0x517b, // SMB
  0x00c36400, // Ceph
  0x01021997, // 9p
  0x5346414f, // AFS
  0x013111a8, // IBRIX
  0x47504653, // GPFS
  0x0bd00bd0, // Lustre
]);

/**
 * Whether `path` is on a network filesystem (FUSE counted as one: most FUSE mounts people copy
 * between are remote). Asked off the main thread; false when it cannot tell.
 */
export async function onNetworkFs(path: string): Promise<boolean> {
  try {
    return NETWORK_MAGIC.has((await statfs(path)).type);
  } catch {
    return false;
  }
}
