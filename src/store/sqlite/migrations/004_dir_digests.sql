-- Each directory's listing digest (names, kinds, sizes, times, modes of its entries) as a scan saw
-- it. A later scan that finds the same digest keeps the directory's rows as they are instead of
-- writing one row per entry: an unchanged tree costs one write a directory.
CREATE TABLE scan_dirs (
  side TEXT NOT NULL CHECK (side IN ('source', 'destination')),
  dir TEXT NOT NULL,                     -- '' for the root, else the relative path and a trailing '/'
  digest TEXT NOT NULL,
  seen INTEGER NOT NULL,                 -- the scan generation that last listed it
  kept INTEGER NOT NULL DEFAULT 0,       -- the generation that found it unchanged and kept its rows
  PRIMARY KEY (side, dir)
) WITHOUT ROWID;

-- The destination listing now outlives a scan (rows of kept directories stay), so each row says
-- which scan last saw it. The old table held only the last scan; the next run scans again.
DROP TABLE dest_entries;
CREATE TABLE dest_entries (
  rel TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  size INTEGER NOT NULL,
  modified INTEGER NOT NULL,
  generation INTEGER NOT NULL
) WITHOUT ROWID;
UPDATE job SET last_scan_complete = 0;

-- The last scan generation whose plan committed: digests recorded by a later, unfinished scan
-- count for nothing (their directories' stale rows were never cleaned up).
ALTER TABLE job ADD COLUMN complete_generation INTEGER NOT NULL DEFAULT 0;

-- The modify window and name matching the last plan used: when neither tree changed and these are
-- the same, every row's status is what that plan made it, and the plan need not recompute it.
ALTER TABLE job ADD COLUMN last_plan TEXT;

-- The bytes already in place ("overall" in the progress) are summed from this index alone.
CREATE INDEX files_synced_size ON files (kind, size) WHERE status = 'synced';
