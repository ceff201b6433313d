import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FerryError } from '../../core/errors.js';
import { listCloud, removeCloud } from './cloud.js';
import { bytes, FERRY_DIR, writeJsonFile } from './config.js';
import { commitArgs } from './merge.js';
import { unusedAnnexKeys } from './clean.js';
import { annexedFiles } from './status.js';
import { CLOUD, SPECIAL_REMOTE, type Vault } from './vault.js';

export interface Copy {
  where: 'git' | 'git-annex' | 'backups';
  path: string;
}

export interface DuplicateGroup {
  sha256: string;
  size: number;
  copies: Copy[];
  /** Bytes stored more than once (git and git-annex keep one copy of identical content themselves). */
  extraBytes: number;
}

/** `.ferry/dedupe.json`: the backup names `dedupe --apply` removed, each with the copy that has its bytes. */
export const DEDUPE_FILE = `${FERRY_DIR}/dedupe.json`;
export interface DedupeRecord {
  name: string;
  same_as: string;
  /** The annexed key that has the bytes (a file's content may change; its key does not). */
  key: string;
  sha256: string;
  size: number;
  removed: string;
}

/**
 * Every record, from .ferry/dedupe.json and from any copy of it a merge kept beside it
 * (dedupe.conflict-DEVICE.json, when two devices deduplicated at once): all of them name real
 * removals. A file that is not a list is an error, never read as empty: its names would be lost.
 */
export async function readDedupeRecords(v: Vault): Promise<DedupeRecord[]> {
  const dir = join(v.managed, FERRY_DIR);
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => /^dedupe(\.conflict-.+)?\.json$/.test(n)).sort();
  const out: DedupeRecord[] = [];
  const seen = new Set<string>();
  for (const name of names) {
    const path = join(dir, name);
    let records: unknown;
    try {
      records = JSON.parse(await readFile(path, 'utf8'));
    } catch {
      records = undefined;
    }
    if (!Array.isArray(records)) {
      throw new FerryError('CONFIG', `${path} is not a list of records; fix it (or restore it with \`ferry vault rollback ${FERRY_DIR}/${name} --to HEAD~1\`) before dedupe or get use it.`);
    }
    for (const r of records as DedupeRecord[]) {
      if (seen.has(r.name)) continue;
      seen.add(r.name);
      out.push(r);
    }
  }
  return out;
}

const KEY_SHA = /^SHA256E?-s(\d+)--([0-9a-f]{64})/;

/**
 * Identical content across the managed repository (git files by their bytes, annexed files by their
 * key) and the cloud's backups (by rclone's SHA-256). A group is reported when its content is stored
 * more than once: in backups/ and versioned, or twice in backups/.
 */
export async function findDuplicates(v: Vault): Promise<DuplicateGroup[]> {
  const groups = new Map<string, { size: number; copies: Copy[] }>();
  const put = (sha: string, size: number, c: Copy): void => {
    const g = groups.get(sha) ?? { size, copies: [] };
    g.copies.push(c);
    groups.set(sha, g);
  };
  const annexed = await annexedFiles(v);
  const annexedNames = new Set(annexed.map((a) => a.file));
  for (const a of annexed) {
    const m = KEY_SHA.exec(a.key);
    if (m) put(m[2]!, Number(m[1]), { where: 'git-annex', path: a.file });
  }
  const tracked = (await v.t.git(v.managed, ['ls-files', '-z'], 'list the files')).split('\0').filter((p) => p && !annexedNames.has(p) && !p.endsWith('.gitkeep') && !p.startsWith(`${FERRY_DIR}/`));
  for (const p of tracked) {
    const bytes = await readFile(join(v.managed, p)).catch(() => undefined);
    if (bytes && bytes.length > 0) put(createHash('sha256').update(bytes).digest('hex'), bytes.length, { where: 'git', path: p });
  }
  for (const e of await listCloud(v.t, v.cloud(CLOUD.backups), 'list the backups with their hashes', { recursive: true, filesOnly: true, hash: true })) {
    const sha = e.Hashes?.sha256;
    if (sha && e.Size > 0) put(sha, e.Size, { where: 'backups', path: `${CLOUD.backups}/${e.Path}` });
  }
  const out: DuplicateGroup[] = [];
  for (const [sha256, g] of groups) {
    const backups = g.copies.filter((c) => c.where === 'backups').length;
    const versioned = g.copies.length - backups;
    const stored = backups + (versioned > 0 ? 1 : 0);
    if (stored > 1) out.push({ sha256, size: g.size, copies: g.copies, extraBytes: (stored - 1) * g.size });
  }
  return out.sort((a, b) => b.extraBytes - a.extraBytes);
}

export interface DedupeReport {
  groups: DuplicateGroup[];
  extraBytes: number;
  /** Applied: backup copies removed, each recorded with the copy that keeps its bytes. */
  removed: DedupeRecord[];
}

/**
 * `ferry vault dedupe [--apply]`: reports duplicates; with `apply`, a backup copy is removed only
 * where the same bytes are an annexed key the cloud has (checked live): a key never changes, where a
 * working file or another backup could. Each removed name is recorded with that key in
 * .ferry/dedupe.json and committed before anything is removed, so `get` still finds its bytes.
 * Groups of backups alone, or of backups and git files, are reported and kept.
 */
export async function dedupe(v: Vault, apply = false): Promise<DedupeReport> {
  const groups = await findDuplicates(v);
  const report: DedupeReport = { groups, extraBytes: groups.reduce((n, g) => n + g.extraBytes, 0), removed: [] };
  if (!apply) return report;
  const records = await readDedupeRecords(v);
  const planned: DedupeRecord[] = [];
  for (const g of groups) {
    const keep = g.copies.find((c) => c.where === 'git-annex');
    if (!keep) continue;
    const key = (await v.t.annex(v.managed, ['lookupkey', '--', keep.path], 'look up the key')).trim();
    const live = await v.t.run('git-annex', ['checkpresentkey', key, SPECIAL_REMOTE], { cwd: v.managed, what: 'check the cloud has the content', ok: [1] });
    if (live.code !== 0) continue; // not in the cloud: the backup copy is the cloud's only one
    for (const c of g.copies) {
      if (c.where === 'backups') planned.push({ name: c.path, same_as: keep.path, key, sha256: g.sha256, size: g.size, removed: new Date().toISOString() });
    }
  }
  if (planned.length === 0) return report;
  await writeJsonFile(join(v.managed, DEDUPE_FILE), [...records, ...planned]);
  await v.t.git(v.managed, ['add', '--', DEDUPE_FILE], 'record the deduplicated names');
  await v.t.git(v.managed, ['commit', '-q', ...commitArgs(`ferry vault dedupe: ${planned.length} backup copies replaced by their annexed keys`, v.device), '--', DEDUPE_FILE], 'commit the deduplicated names');
  for (const r of planned) {
    await removeCloud(v.t, v.cloud(r.name), `remove the duplicate ${r.name}`);
    report.removed.push(r);
  }
  return report;
}

export interface Recommendation {
  kind: 'large-blob-in-git' | 'unused-annex' | 'gc' | 'backup-also-versioned';
  detail: string;
  /** What to run. */
  command: string;
  bytes?: number;
}

/** `ferry vault optimize`: what would make the vault smaller or faster, and the command for each; changes nothing. */
export async function optimize(v: Vault): Promise<Recommendation[]> {
  const out: Recommendation[] = [];
  const limit = bytes(v.config.git_max_size);
  const objects = await v.t.git(v.managed, ['rev-list', '--objects', '--branches'], 'list the history\'s objects');
  const check = await v.t.git(v.managed, ['cat-file', '--batch-check=%(objecttype) %(objectsize) %(rest)'], 'size the history\'s objects', { input: objects });
  for (const line of check.split('\n')) {
    const m = /^blob (\d+) (.+)$/.exec(line);
    if (m && Number(m[1]) >= limit) {
      out.push({ kind: 'large-blob-in-git', detail: `${m[2]} (${m[1]} bytes) is in git's history; git-annex would keep it out of every clone`, command: `ferry vault git rm --cached ${m[2]} && ferry vault add ${m[2]} (new versions go to git-annex; old ones stay in history)`, bytes: Number(m[1]) });
    }
  }
  const keys = await unusedAnnexKeys(v);
  if (keys.length) out.push({ kind: 'unused-annex', detail: `${keys.length} annexed versions no branch uses any more are kept on this device`, command: 'ferry vault clean (drops them once the cloud has a copy)' });
  const counts = await v.t.git(v.managed, ['count-objects', '-v'], 'count the objects');
  const loose = Number(/^count: (\d+)/m.exec(counts)?.[1] ?? 0);
  const packs = Number(/^packs: (\d+)/m.exec(counts)?.[1] ?? 0);
  if (loose > 5000 || packs > 50) out.push({ kind: 'gc', detail: `${loose} loose objects and ${packs} packs`, command: 'ferry vault git gc' });
  for (const g of await findDuplicates(v)) {
    const versioned = g.copies.find((c) => c.where !== 'backups');
    for (const b of g.copies.filter((c) => c.where === 'backups')) {
      if (versioned) out.push({ kind: 'backup-also-versioned', detail: `${b.path} is the same as the versioned ${versioned.path}`, command: 'ferry vault dedupe --apply', bytes: g.size });
    }
  }
  return out;
}
