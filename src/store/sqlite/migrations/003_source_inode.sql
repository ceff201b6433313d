-- The source root's inode at the first scan: with source_device, it tells the directory the job
-- began with from another tree put in its place (a restore, a rename), which the mirror refuses.
ALTER TABLE job ADD COLUMN source_inode INTEGER;
