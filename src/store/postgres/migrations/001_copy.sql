-- One database holds one copy job (a SOURCE → DESTINATION pair), as the SQLite file does: the
-- same tables, columns and meanings (see src/store/sqlite/migrations). Times are integer ns.
CREATE TABLE job (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  source_root TEXT NOT NULL,
  dest_root TEXT NOT NULL,
  created BIGINT NOT NULL,
  scan_generation BIGINT NOT NULL DEFAULT 0,
  last_scan_errors BIGINT NOT NULL DEFAULT 0,
  last_scan_complete BOOLEAN NOT NULL DEFAULT FALSE,
  dest_precision_ns BIGINT,
  dest_case_sensitive BOOLEAN,
  source_device NUMERIC(20),
  source_inode NUMERIC(20),
  complete_generation BIGINT NOT NULL DEFAULT 0,
  last_plan TEXT
);

CREATE TABLE files (
  id BIGSERIAL PRIMARY KEY,              -- the SQLite rowid: backlog order
  source_path TEXT NOT NULL UNIQUE,
  dest_path TEXT NOT NULL,
  rel TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL CHECK (kind IN ('file', 'dir', 'symlink')),
  size BIGINT NOT NULL,
  created BIGINT,
  changed BIGINT NOT NULL,
  modified BIGINT NOT NULL,
  accessed BIGINT NOT NULL,
  permissions BIGINT NOT NULL,
  uid BIGINT,
  gid BIGINT,
  hash TEXT,
  algorithm TEXT,
  status TEXT NOT NULL CHECK (status IN ('pending', 'synced', 'failed')),
  error TEXT,
  attempts BIGINT NOT NULL DEFAULT 0,
  scan_generation BIGINT NOT NULL,
  synced_at BIGINT
);
CREATE INDEX files_status ON files (status, id);
CREATE INDEX files_synced_size ON files (kind, size) WHERE status = 'synced';
CREATE INDEX files_rel_lower ON files (lower(rel));

CREATE TABLE dest_entries (
  rel TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  size BIGINT NOT NULL,
  modified BIGINT NOT NULL,
  generation BIGINT NOT NULL
);
CREATE INDEX dest_entries_rel_lower ON dest_entries (lower(rel));

CREATE TABLE scan_dirs (
  side TEXT NOT NULL CHECK (side IN ('source', 'destination')),
  dir TEXT NOT NULL,
  digest TEXT NOT NULL,
  seen BIGINT NOT NULL,
  kept BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (side, dir)
);

CREATE TABLE runs (
  id BIGSERIAL PRIMARY KEY,
  started BIGINT NOT NULL,
  ended BIGINT,
  mode TEXT NOT NULL,
  status TEXT,
  files_copied BIGINT,
  bytes_copied BIGINT,
  files_failed BIGINT,
  files_deleted BIGINT,
  error TEXT
);
