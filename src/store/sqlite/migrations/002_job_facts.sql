-- What ferry learns about a job's trees, kept so later runs need not write on the destination
-- (the precision probe) and the mirror can tell a remounted or replaced source.
ALTER TABLE job ADD COLUMN dest_precision_ns INTEGER;     -- probed mtime precision of the destination
ALTER TABLE job ADD COLUMN dest_case_sensitive INTEGER;   -- 1, 0, or NULL before the first probe
ALTER TABLE job ADD COLUMN source_device INTEGER;         -- st_dev of the source root at the first scan

-- Case-insensitive destinations (SMB, exFAT) match names with NOCASE (ASCII folding).
CREATE INDEX files_rel_nocase ON files (rel COLLATE NOCASE);
CREATE INDEX dest_entries_rel_nocase ON dest_entries (rel COLLATE NOCASE);
