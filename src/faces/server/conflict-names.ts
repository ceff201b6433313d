/** How many conflict copies one file keeps (Syncthing's maxConflicts default); the oldest go first. */
export const MAX_CONFLICT_COPIES = 10;

const MARK = /\.sync-conflict-\d{8}-\d{6}-[^/.]+(?=\.[^./]*$|$)/;

/** Whether `path` is a conflict copy (which never gets a conflict copy of its own). */
export function isConflictCopy(path: string): boolean {
  return MARK.test(path.slice(path.lastIndexOf('/') + 1));
}

/** `dir/name.ext` → `dir/name.sync-conflict-YYYYMMDD-HHMMSS-<client>.ext` (UTC), as Syncthing names them. */
export function conflictName(path: string, client: string, when: Date): string {
  const slash = path.lastIndexOf('/');
  const dir = path.slice(0, slash + 1);
  const name = path.slice(slash + 1);
  const dot = name.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  const p = (n: number): string => String(n).padStart(2, '0');
  const stamp = `${when.getUTCFullYear()}${p(when.getUTCMonth() + 1)}${p(when.getUTCDate())}-${p(when.getUTCHours())}${p(when.getUTCMinutes())}${p(when.getUTCSeconds())}`;
  const who = client.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 40) || 'unknown';
  return `${dir}${stem}.sync-conflict-${stamp}-${who}${ext}`;
}

/** The conflict copies of `path` among `paths`, oldest first (their names sort by time). */
export function copiesOf(path: string, paths: string[]): string[] {
  const slash = path.lastIndexOf('/');
  const name = path.slice(slash + 1);
  const dot = name.lastIndexOf('.');
  const stem = path.slice(0, slash + 1) + (dot > 0 ? name.slice(0, dot) : name);
  const ext = dot > 0 ? name.slice(dot) : '';
  return paths.filter((p) => p.startsWith(`${stem}.sync-conflict-`) && p.endsWith(ext) && isConflictCopy(p)).sort();
}
