-- The index behind `ferry watch` (seed 003): roots, a record per file, the operations history.
CREATE TABLE roots (
  id TEXT PRIMARY KEY,                   -- the repository id (any string: a UUID, a name)
  path TEXT NOT NULL,
  device INTEGER,                        -- st_dev of the root when added
  inode INTEGER,                         -- st_ino of the root when added
  added_at INTEGER NOT NULL,             -- ms since the epoch
  scan_generation INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE file_records (
  id INTEGER PRIMARY KEY,
  repository_id TEXT NOT NULL REFERENCES roots (id) ON DELETE CASCADE,
  file_path TEXT NOT NULL,               -- relative to the root, '/'-separated
  file_size INTEGER NOT NULL,
  mod_time INTEGER NOT NULL,             -- ns since the epoch
  content_hash TEXT,                     -- sha256 hex
  last_scanned INTEGER NOT NULL,         -- ms since the epoch
  scan_generation INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (repository_id, file_path)
);

CREATE TABLE sync_operations (
  id INTEGER PRIMARY KEY,
  repository_id TEXT NOT NULL,
  operation_type TEXT NOT NULL CHECK (operation_type IN ('realtime', 'reconciliation', 'startup')),
  files_scanned INTEGER NOT NULL DEFAULT 0,
  files_added INTEGER NOT NULL DEFAULT 0,
  files_updated INTEGER NOT NULL DEFAULT 0,
  files_removed INTEGER NOT NULL DEFAULT 0,
  start_time INTEGER NOT NULL,
  end_time INTEGER,
  duration_ms INTEGER,
  status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
  error_message TEXT
);
CREATE INDEX sync_operations_repository ON sync_operations (repository_id, id);
