CREATE TABLE client_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- What each path held when it was last in step with the server: its content (the base of the next
-- change) and the local size and mtime it had then (a file with both unchanged is not hashed again).
CREATE TABLE client_files (
  path TEXT PRIMARY KEY,
  sha256 TEXT NOT NULL,
  size INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL
);
