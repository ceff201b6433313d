-- ferry route on PostgreSQL: the same tables, columns and meanings as on SQLite
-- (see src/store/sqlite/route-migrations/001_route.sql). Times are integer ns.
CREATE TABLE route_meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE route_files (
  path      TEXT PRIMARY KEY,
  size      BIGINT NOT NULL,
  mtime_ns  BIGINT NOT NULL,
  hash      TEXT NOT NULL,
  mime      TEXT NOT NULL,
  category  TEXT NOT NULL,
  looked_ns BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX route_files_hash ON route_files (hash);
CREATE INDEX route_files_looked ON route_files (looked_ns);

CREATE TABLE route_drives (
  id            TEXT PRIMARY KEY,
  label         TEXT NOT NULL,
  category      TEXT NOT NULL,
  active        BOOLEAN NOT NULL DEFAULT TRUE,
  last_seen_ns  BIGINT,
  last_location TEXT
);

CREATE TABLE route_deliveries (
  drive_id     TEXT NOT NULL,
  hash         TEXT NOT NULL,
  path         TEXT NOT NULL,
  source_path  TEXT,
  size         BIGINT NOT NULL,
  mtime_ns     BIGINT NOT NULL,
  delivered_ns BIGINT NOT NULL,
  PRIMARY KEY (drive_id, hash)
);
CREATE INDEX route_deliveries_path ON route_deliveries (drive_id, path);
CREATE INDEX route_deliveries_source ON route_deliveries (source_path);

CREATE TABLE route_pending (
  id         BIGSERIAL PRIMARY KEY,
  drive_id   TEXT NOT NULL,
  hash       TEXT NOT NULL,
  path       TEXT NOT NULL,
  size       BIGINT NOT NULL,
  queued_ns  BIGINT NOT NULL,
  attempts   BIGINT NOT NULL DEFAULT 0,
  last_error TEXT,
  UNIQUE (drive_id, hash)
);
CREATE INDEX route_pending_drive ON route_pending (drive_id, id);
