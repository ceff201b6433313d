-- Several `ferry copy` processes on one job (src/store/postgres/pg-crew.ts). A round starts with a
-- worker that finds no live one; files are claimed by a worker under a lease (the server's clock):
-- 'infinity' holds a file back for the rest of the round (it changed while read).
ALTER TABLE job ADD COLUMN round BIGINT NOT NULL DEFAULT 0;
ALTER TABLE job ADD COLUMN round_state TEXT NOT NULL DEFAULT 'over'
  CHECK (round_state IN ('scanning', 'copying', 'finishing', 'over'));
ALTER TABLE files ADD COLUMN claimed_by BIGINT;
ALTER TABLE files ADD COLUMN lease_until TIMESTAMPTZ;
CREATE INDEX files_claimed ON files (claimed_by) WHERE claimed_by IS NOT NULL;
CREATE TABLE workers (
  id BIGSERIAL PRIMARY KEY,
  round BIGINT NOT NULL,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  lease_ms INTEGER NOT NULL,
  started TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  heartbeat TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  state TEXT NOT NULL,
  files BIGINT NOT NULL DEFAULT 0,
  bytes BIGINT NOT NULL DEFAULT 0,
  rate DOUBLE PRECISION NOT NULL DEFAULT 0
);
CREATE INDEX workers_round ON workers (round);
