-- ferry serve: what each path of the sync directory holds (or held), the numbered change log, the
-- clients, the API keys (hashed), the conflicts and the resumable upload sessions. Times are integer
-- ns for files, ms since the epoch for the server's own events.

-- The last change's sequence: one row, raised by one in the transaction that writes the change.
CREATE TABLE server_meta (
  id  INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL
);
INSERT INTO server_meta (id, seq) VALUES (1, 0);

-- A path as the server last recorded it; a deleted one stays as a tombstone with the content it had.
CREATE TABLE server_files (
  path      TEXT PRIMARY KEY,      -- POSIX, relative to the sync directory
  size      INTEGER NOT NULL,
  mtime_ns  INTEGER NOT NULL,
  sha256    TEXT NOT NULL,
  seq       INTEGER NOT NULL,      -- the change that made the row what it is
  deleted   INTEGER NOT NULL DEFAULT 0,
  client_id TEXT                   -- NULL: the server itself
);

CREATE TABLE server_changes (
  seq       INTEGER PRIMARY KEY,
  op        TEXT NOT NULL CHECK (op IN ('CREATE', 'UPDATE', 'DELETE', 'MOVE')),
  path      TEXT NOT NULL,         -- for a MOVE, where the file went
  from_path TEXT,                  -- for a MOVE, where it was
  size      INTEGER NOT NULL,
  mtime_ns  INTEGER NOT NULL,
  sha256    TEXT NOT NULL,
  client_id TEXT,
  time_ms   INTEGER NOT NULL
);

CREATE TABLE server_clients (
  client_id     TEXT PRIMARY KEY,
  name          TEXT NOT NULL,
  platform      TEXT,
  registered_ms INTEGER NOT NULL,
  last_seen_ms  INTEGER NOT NULL,
  last_seq      INTEGER NOT NULL DEFAULT 0
);

-- The key itself is never stored: only its SHA-256.
CREATE TABLE server_keys (
  name       TEXT PRIMARY KEY,
  hash       TEXT NOT NULL,
  created_ms INTEGER NOT NULL
);

CREATE TABLE server_conflicts (
  id        INTEGER PRIMARY KEY,
  path      TEXT NOT NULL,
  copy      TEXT NOT NULL,
  sha256    TEXT NOT NULL,
  client_id TEXT,
  time_ms   INTEGER NOT NULL
);

CREATE TABLE server_uploads (
  id          TEXT PRIMARY KEY,
  path        TEXT NOT NULL,
  size        INTEGER NOT NULL,
  sha256      TEXT,
  mtime_ns    INTEGER NOT NULL,
  base_sha256 TEXT,
  client_id   TEXT,
  received    INTEGER NOT NULL DEFAULT 0,
  created_ms  INTEGER NOT NULL,
  expires_ms  INTEGER NOT NULL
);
CREATE INDEX server_uploads_expiry ON server_uploads (expires_ms);
