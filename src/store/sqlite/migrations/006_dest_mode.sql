-- The mode of each destination entry the scan saw: a copy whose permission bits are wider than its
-- source's now (the source was made private after it was copied) is not up to date.
ALTER TABLE dest_entries ADD COLUMN mode INTEGER;
-- Whether the destination keeps the modes ferry gives (FAT and many SMB shares show one mode for all).
ALTER TABLE job ADD COLUMN dest_keeps_modes INTEGER;
