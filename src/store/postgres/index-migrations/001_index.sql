-- The index behind `ferry watch` (seed 003) on PostgreSQL: the same tables as on SQLite.
CREATE TABLE roots (
  id TEXT PRIMARY KEY,
  path TEXT NOT NULL,
  device BIGINT,
  inode BIGINT,
  added_at BIGINT NOT NULL,
  scan_generation BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE file_records (
  id BIGSERIAL PRIMARY KEY,
  repository_id TEXT NOT NULL REFERENCES roots (id) ON DELETE CASCADE,
  file_path TEXT NOT NULL,
  file_size BIGINT NOT NULL,
  mod_time BIGINT NOT NULL,
  content_hash TEXT,
  last_scanned BIGINT NOT NULL,
  scan_generation BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (repository_id, file_path)
);

CREATE TABLE sync_operations (
  id BIGSERIAL PRIMARY KEY,
  repository_id TEXT NOT NULL,
  operation_type TEXT NOT NULL CHECK (operation_type IN ('realtime', 'reconciliation', 'startup')),
  files_scanned BIGINT NOT NULL DEFAULT 0,
  files_added BIGINT NOT NULL DEFAULT 0,
  files_updated BIGINT NOT NULL DEFAULT 0,
  files_removed BIGINT NOT NULL DEFAULT 0,
  start_time BIGINT NOT NULL,
  end_time BIGINT,
  duration_ms BIGINT,
  status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
  error_message TEXT
);
CREATE INDEX sync_operations_repository ON sync_operations (repository_id, id);
