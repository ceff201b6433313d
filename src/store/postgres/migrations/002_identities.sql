-- See src/store/sqlite/migrations/005_identities.sql.
ALTER TABLE job ADD COLUMN source_identity TEXT;
CREATE TABLE source_mounts (
  rel TEXT PRIMARY KEY,
  identity TEXT NOT NULL,
  missing BOOLEAN NOT NULL DEFAULT false
);
