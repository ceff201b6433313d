-- See src/store/sqlite/index-migrations/002_root_identity.sql.
ALTER TABLE roots ADD COLUMN identity TEXT;
ALTER TABLE roots ADD COLUMN watched_by BIGINT;
