-- What names a root across remounts (io/fs-identity.ts, as JSON), and the pid of the `ferry watch`
-- watching it (cleared when it stops; a pid left by a watcher that died is told apart by the lock).
ALTER TABLE roots ADD COLUMN identity TEXT;
ALTER TABLE roots ADD COLUMN watched_by INTEGER;
