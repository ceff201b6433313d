import Database from 'better-sqlite3';

/** Reads a ferry job database (read-only) for assertions. */
export function dbRows(db: string, sql = 'SELECT rel, kind, status, hash FROM files ORDER BY rel'): Array<Record<string, unknown>> {
  const d = new Database(db, { readonly: true });
  try {
    return d.prepare(sql).all() as Array<Record<string, unknown>>;
  } finally {
    d.close();
  }
}

export function statusCounts(db: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of dbRows(db, 'SELECT status, count(*) AS n FROM files GROUP BY status')) out[String(r.status)] = Number(r.n);
  return out;
}
