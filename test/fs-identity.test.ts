import { describe, expect, it } from 'vitest';
import { compareIdentity, type DirIdentity } from '../dist/io/fs-identity.js';

const id = (o: Partial<DirIdentity>): DirIdentity => ({ fs: '', handle: '', dev: '1', ino: '2', btime: '0', ...o });

/** What names a directory across remounts: the cases a mirror's guard and a watched root meet. */
describe('compareIdentity', () => {
  it('the same filesystem mounted again (a new device number) is the same directory', () => {
    expect(compareIdentity(id({ fs: 'ext4 uuid:A', handle: '1:0c00', dev: '7' }), id({ fs: 'ext4 uuid:A', handle: '1:0c00', dev: '9' }))).toBe('same');
    expect(compareIdentity(id({ fs: 'nfs4 srv:/x 1:ab', handle: '1:cd', dev: '40' }), id({ fs: 'nfs4 srv:/x 1:ab', handle: '1:cd', dev: '41' }))).toBe('same');
    // A share without handles (FUSE): the type and source are what is left; its device and inode numbers change.
    expect(compareIdentity(id({ fs: 'fuse.sshfs me@h:/d', dev: '50', ino: '1' }), id({ fs: 'fuse.sshfs me@h:/d', dev: '51', ino: '7' }))).toBe('same');
  });

  it('another filesystem in the same place is not, whatever its numbers', () => {
    // Two tmpfs: same st_dev, same root inode, another random generation in the handle.
    expect(compareIdentity(id({ fs: 'tmpfs tmpfs 1:aa 100', handle: '1:aa', btime: '100' }), id({ fs: 'tmpfs tmpfs 1:bb 200', handle: '1:bb', btime: '200' }))).toBe('other-filesystem');
    expect(compareIdentity(id({ fs: 'ext4 uuid:A' }), id({ fs: 'ext4 uuid:B' }))).toBe('other-filesystem');
    expect(compareIdentity(id({ fs: 'ext4 uuid:A' }), id({ fs: 'tmpfs tmpfs 1:aa' }))).toBe('other-filesystem');
  });

  it('with a UUID on one side only (blkid unreadable once), two ext4 disks still differ: their roots were made at other times', () => {
    const root = '1:0200000000000000'; // every ext4 root: inode 2, generation 0
    expect(compareIdentity(id({ fs: 'ext4 uuid:A', handle: root, btime: '100' }), id({ fs: `ext4 ${root} 200`, handle: root, btime: '200' }))).toBe('other-filesystem');
    expect(compareIdentity(id({ fs: 'ext4 uuid:A', handle: root, btime: '100' }), id({ fs: `ext4 ${root} 100`, handle: root, btime: '100' }))).toBe('same');
  });

  it('another directory on the same filesystem is told as such', () => {
    expect(compareIdentity(id({ fs: 'ext4 uuid:A', handle: '1:0c01' }), id({ fs: 'ext4 uuid:A', handle: '1:0c02' }))).toBe('other-directory');
  });
});
