-- ferry route: the source's classified files, the drives, what each drive has, and what waits for it.
CREATE TABLE route_meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

-- One row per regular file of the source that the last scan saw (paths relative to the source).
CREATE TABLE route_files (
  path     TEXT PRIMARY KEY,
  size     INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL,
  hash     TEXT NOT NULL,          -- BLAKE3 of the content
  mime     TEXT NOT NULL,
  category TEXT NOT NULL,
  looked_ns INTEGER NOT NULL DEFAULT 0  -- when it was last classified: a scan reports duplicates among what it looked at
);
CREATE INDEX route_files_hash ON route_files (hash);
CREATE INDEX route_files_looked ON route_files (looked_ns);

-- The drives of the configuration (copied in at each start; a drive taken out is inactive, its history kept).
CREATE TABLE route_drives (
  id            TEXT PRIMARY KEY,
  label         TEXT NOT NULL,
  category      TEXT NOT NULL,
  active        INTEGER NOT NULL DEFAULT 1,
  last_seen_ns  INTEGER,
  last_location TEXT
);

-- A content on a drive: delivered once per drive, whatever name it has in the source.
CREATE TABLE route_deliveries (
  drive_id     TEXT NOT NULL,
  hash         TEXT NOT NULL,
  path         TEXT NOT NULL,      -- on the drive, relative to its root
  source_path  TEXT,               -- the source file it came from; NULL once that file left the source
  size         INTEGER NOT NULL,
  mtime_ns     INTEGER NOT NULL,   -- of the file on the drive as ferry left it: a file changed since is not ferry's to replace
  delivered_ns INTEGER NOT NULL,
  PRIMARY KEY (drive_id, hash)
);
CREATE INDEX route_deliveries_path ON route_deliveries (drive_id, path);

-- Contents waiting for their drive.
CREATE TABLE route_pending (
  id         INTEGER PRIMARY KEY,
  drive_id   TEXT NOT NULL,
  hash       TEXT NOT NULL,
  path       TEXT NOT NULL,        -- the source file that carries it
  size       INTEGER NOT NULL,
  queued_ns  INTEGER NOT NULL,
  attempts   INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  UNIQUE (drive_id, hash)
);
CREATE INDEX route_pending_drive ON route_pending (drive_id, id);
