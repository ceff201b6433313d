-- What names the source root across remounts (io/fs-identity.ts: the filesystem's UUID or its mount's
-- root, the directory's file handle): device and inode numbers are reused by a new filesystem.
ALTER TABLE job ADD COLUMN source_identity TEXT;
-- Filesystems mounted inside the source as the scans found them: one that is gone (unmounted) or
-- another one in its place is `missing`, and the mirror deletes nothing below it.
CREATE TABLE source_mounts (
  rel TEXT PRIMARY KEY,
  identity TEXT NOT NULL,
  missing INTEGER NOT NULL DEFAULT 0
);
