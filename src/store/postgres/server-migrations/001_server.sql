-- ferry serve on PostgreSQL: the same tables, columns and meanings as on SQLite
-- (see src/store/sqlite/server-migrations/001_server.sql). Paths, names and ids are compared and
-- sorted byte by byte (COLLATE "C", as SQLite does) whatever the database's locale, so that the
-- primary keys serve the range scans of listUnder.
CREATE TABLE server_meta (
  id  INTEGER PRIMARY KEY CHECK (id = 1),
  seq BIGINT NOT NULL
);
INSERT INTO server_meta (id, seq) VALUES (1, 0);

CREATE TABLE server_files (
  path      TEXT COLLATE "C" PRIMARY KEY,
  size      BIGINT NOT NULL,
  mtime_ns  BIGINT NOT NULL,
  sha256    TEXT NOT NULL,
  seq       BIGINT NOT NULL,
  deleted   BOOLEAN NOT NULL DEFAULT FALSE,
  client_id TEXT
);

CREATE TABLE server_changes (
  seq       BIGINT PRIMARY KEY,
  op        TEXT NOT NULL CHECK (op IN ('CREATE', 'UPDATE', 'DELETE', 'MOVE')),
  path      TEXT NOT NULL,
  from_path TEXT,
  size      BIGINT NOT NULL,
  mtime_ns  BIGINT NOT NULL,
  sha256    TEXT NOT NULL,
  client_id TEXT,
  time_ms   BIGINT NOT NULL
);

CREATE TABLE server_clients (
  client_id     TEXT COLLATE "C" PRIMARY KEY,
  name          TEXT NOT NULL,
  platform      TEXT,
  registered_ms BIGINT NOT NULL,
  last_seen_ms  BIGINT NOT NULL,
  last_seq      BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE server_keys (
  name       TEXT COLLATE "C" PRIMARY KEY,
  hash       TEXT NOT NULL,
  created_ms BIGINT NOT NULL
);

CREATE TABLE server_conflicts (
  id        BIGSERIAL PRIMARY KEY,
  path      TEXT NOT NULL,
  copy      TEXT NOT NULL,
  sha256    TEXT NOT NULL,
  client_id TEXT,
  time_ms   BIGINT NOT NULL
);

CREATE TABLE server_uploads (
  id          TEXT COLLATE "C" PRIMARY KEY,
  path        TEXT NOT NULL,
  size        BIGINT NOT NULL,
  sha256      TEXT,
  mtime_ns    BIGINT NOT NULL,
  base_sha256 TEXT,
  client_id   TEXT,
  received    BIGINT NOT NULL DEFAULT 0,
  created_ms  BIGINT NOT NULL,
  expires_ms  BIGINT NOT NULL
);
CREATE INDEX server_uploads_expiry ON server_uploads (expires_ms);
