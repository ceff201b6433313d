-- What a running run publishes about once a second (engine/stats-publisher.ts): its last stats
-- snapshot as JSON, when, and which process; the dashboard reads them. No second state file.
ALTER TABLE runs ADD COLUMN host TEXT;
ALTER TABLE runs ADD COLUMN pid INTEGER;
ALTER TABLE runs ADD COLUMN stats TEXT;
ALTER TABLE runs ADD COLUMN stats_at INTEGER;          -- ms since the epoch
-- The run's progress over time for the rate chart: one sample a second at first, thinner as the run
-- grows long (a few thousand rows for a run of weeks).
CREATE TABLE run_samples (
  run_id INTEGER NOT NULL,
  t INTEGER NOT NULL,                                  -- ms since the epoch
  bytes INTEGER NOT NULL,                              -- bytes written in the run so far
  files INTEGER NOT NULL,                              -- files done in the run so far
  PRIMARY KEY (run_id, t)
) WITHOUT ROWID;
CREATE INDEX files_failed ON files (rel) WHERE status = 'failed';
