-- What a running run publishes about once a second (engine/stats-publisher.ts): its last stats
-- snapshot as JSON, when, and which process; the dashboard reads them. Each worker has its own run.
ALTER TABLE runs ADD COLUMN host TEXT;
ALTER TABLE runs ADD COLUMN pid INTEGER;
ALTER TABLE runs ADD COLUMN stats TEXT;
ALTER TABLE runs ADD COLUMN stats_at BIGINT;
CREATE TABLE run_samples (
  run_id BIGINT NOT NULL,
  t BIGINT NOT NULL,
  bytes BIGINT NOT NULL,
  files BIGINT NOT NULL,
  PRIMARY KEY (run_id, t)
);
CREATE INDEX files_failed ON files (rel) WHERE status = 'failed';
