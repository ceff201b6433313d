-- The destination's probed mtime precision, so a run with nothing to do writes nothing there.
ALTER TABLE job ADD COLUMN dest_precision_ns INTEGER;
