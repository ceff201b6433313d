-- One database holds one copy job: a SOURCE → DESTINATION pair.
CREATE TABLE job (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  source_root TEXT NOT NULL,
  dest_root TEXT NOT NULL,
  created INTEGER NOT NULL,              -- ms since the epoch
  scan_generation INTEGER NOT NULL DEFAULT 0,
  last_scan_errors INTEGER NOT NULL DEFAULT 0,
  last_scan_complete INTEGER NOT NULL DEFAULT 0
);

-- The backlog and the record of what was copied. Times are integer nanoseconds since the epoch.
CREATE TABLE files (
  source_path TEXT PRIMARY KEY,          -- full source path
  dest_path TEXT NOT NULL,               -- full destination path
  rel TEXT NOT NULL UNIQUE,              -- path relative to both roots
  kind TEXT NOT NULL CHECK (kind IN ('file', 'dir', 'symlink')),
  size INTEGER NOT NULL,
  created INTEGER,                       -- birth time (0 when the filesystem does not keep it)
  changed INTEGER NOT NULL,              -- ctime
  modified INTEGER NOT NULL,             -- mtime
  accessed INTEGER NOT NULL,             -- atime
  permissions INTEGER NOT NULL,          -- st_mode, recorded only
  uid INTEGER,
  gid INTEGER,
  hash TEXT,                             -- hex digest; NULL until copied
  algorithm TEXT,
  status TEXT NOT NULL CHECK (status IN ('pending', 'synced', 'failed')),
  error TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  scan_generation INTEGER NOT NULL,
  synced_at INTEGER                      -- ms since the epoch
);
CREATE INDEX files_status ON files (status);

-- What the last scan saw on the destination (for the skip rule and the mirror).
CREATE TABLE dest_entries (
  rel TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  size INTEGER NOT NULL,
  modified INTEGER NOT NULL
) WITHOUT ROWID;

-- One row per run: the operation history.
CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  started INTEGER NOT NULL,
  ended INTEGER,
  mode TEXT NOT NULL,
  status TEXT,
  files_copied INTEGER,
  bytes_copied INTEGER,
  files_failed INTEGER,
  files_deleted INTEGER,
  error TEXT
);
