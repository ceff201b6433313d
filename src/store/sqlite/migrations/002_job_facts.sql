-- What ferry learns about a job's trees, kept so later runs need not write on the destination
-- (the precision probe) and the mirror can tell a remounted or replaced source.
ALTER TABLE job ADD COLUMN dest_precision_ns INTEGER;     -- probed mtime precision of the destination
ALTER TABLE job ADD COLUMN dest_case_sensitive INTEGER;   -- 1, 0, or NULL before the first probe
ALTER TABLE job ADD COLUMN source_device INTEGER;         -- st_dev of the source root at the first scan

-- Case-insensitive destinations (SMB, exFAT) match names with NOCASE (ASCII folding); their
-- indexes are created by the store on first need, so other jobs do not pay for them on every insert.
