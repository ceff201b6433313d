import { describe, expect, it } from 'vitest';
import { keyLines, keyName, lineOf } from '../src/faces/route/config-lines.js';
import { mountCandidates, parseMountInfo } from '../src/engine/volumes.js';

describe('the mount table', () => {
  const table = [
    '22 1 0:21 / /proc rw,nosuid - proc proc rw',
    '31 23 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
    '90 31 8:17 / /media/me/MY\\040STICK rw,nosuid,nodev shared:45 master:3 - vfat /dev/sdb1 rw,uid=1000',
    '91 31 0:50 / /mnt/share rw - nfs4 server:/export rw',
    '92 31 7:0 / /tmp/back\\134slash rw - ext4 /dev/loop0 rw',
    '',
  ].join('\n');

  it('reads mountinfo: escaped spaces and backslashes, optional fields, the type and device after the dash', () => {
    expect(parseMountInfo(table).map((m) => m.id)).toEqual(['22', '31', '90', '91', '92']);
    expect(parseMountInfo(table).map(({ id: _, ...m }) => m)).toEqual([
      { mountPoint: '/proc', fsType: 'proc', source: 'proc' },
      { mountPoint: '/', fsType: 'ext4', source: '/dev/sda1' },
      { mountPoint: '/media/me/MY STICK', fsType: 'vfat', source: '/dev/sdb1' },
      { mountPoint: '/mnt/share', fsType: 'nfs4', source: 'server:/export' },
      { mountPoint: '/tmp/back\\slash', fsType: 'ext4', source: '/dev/loop0' },
    ]);
  });

  it('looks for drives on real filesystems only: not /proc, not network shares (a hung server would hang the poll)', () => {
    expect(mountCandidates(table).map((m) => m.mountPoint)).toEqual(['/', '/media/me/MY STICK', '/tmp/back\\slash']);
  });
});

describe('configuration lines', () => {
  const text = [
    'source = "/in"', // 1
    '', // 2
    '[options]', // 3
    'ignore = [', // 4
    '  "a = b",', // 5: inside an array: not a key
    ']', // 6
    'debounce = "1s"', // 7
    '', // 8
    '[[drive]]', // 9
    'id = "x"', // 10
    '[[drive]]  # the second', // 11
    'label = "y"', // 12
    'meta = { a = 1 }', // 13
  ].join('\n');
  const lines = keyLines(text);

  it('finds keys in tables and arrays of tables, and skips what is inside multi-line arrays', () => {
    expect(lineOf(lines, ['source'])).toBe(1);
    expect(lineOf(lines, ['options', 'debounce'])).toBe(7);
    expect(lineOf(lines, ['options', 'a '])).toBe(3); // not a key: falls back to its table
    expect(lineOf(lines, ['drive', 0, 'id'])).toBe(10);
    expect(lineOf(lines, ['drive', 1, 'label'])).toBe(12);
    expect(lineOf(lines, ['drive', 1, 'category'])).toBe(11); // missing: the table's header
    expect(lineOf(lines, ['options', 'ignore', 0])).toBe(4);
    expect(lineOf(lines, ['nowhere'])).toBeUndefined();
  });

  it('names keys as a user reads them', () => {
    expect(keyName(['drive', 1, 'category'])).toBe('drive[2].category');
    expect(keyName([])).toBe('(top level)');
  });
});

describe('configuration lines around multi-line strings', () => {
  it('counts tables right after a multi-line string holding brackets', () => {
    const text = [
      'source = "/in"', // 1
      'note = """', // 2
      'a [[drive]] inside a string, and an open [', // 3
      '"""', // 4
      "other = '''[''' # closed on its line", // 5
      '[[drive]]', // 6
      'id = "a"', // 7
      '[[drive]]', // 8
      'label = "b"', // 9
    ].join('\n');
    const lines = keyLines(text);
    expect(lineOf(lines, ['other'])).toBe(5);
    expect(lineOf(lines, ['drive', 0, 'id'])).toBe(7);
    expect(lineOf(lines, ['drive', 1, 'label'])).toBe(9);
  });
});
