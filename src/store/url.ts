/** True for a `postgres://` or `postgresql://` database URL (anything else is a SQLite file path). */
export function isPgUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db);
}
