-- See src/store/sqlite/migrations/006_dest_mode.sql.
ALTER TABLE dest_entries ADD COLUMN mode BIGINT;
ALTER TABLE job ADD COLUMN dest_keeps_modes BOOLEAN;
