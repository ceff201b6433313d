import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { homedir } from 'node:os';
import { listCloud, removeCloud } from './cloud.js';
import { FERRY_DIR } from './config.js';
import { firstMatch } from './globs.js';
import { CLOUD, type Vault } from './vault.js';

export interface CleanPlan {
  /** Untracked temp and cache files in the managed directory (by the config's temp_patterns). */
  tempFiles: string[];
  /** Annexed versions no branch uses, kept on this device: dropped only where the cloud has a copy (checked live). */
  unusedKeys: string[];
  /** Uploads that never finished: git-annex-storage/tmp/ files more than a day old. */
  leftovers: string[];
}

export interface CleanReport extends CleanPlan {
  removedTemp: number;
  droppedKeys: number;
  /** Unused versions kept because the cloud has no copy of them (numcopies). */
  keptKeys: string[];
  removedLeftovers: number;
}

const DAY = 24 * 3600_000;

/** What `ferry vault clean` would remove; changes nothing. */
export async function planClean(v: Vault): Promise<CleanPlan> {
  const others = (await v.t.git(v.managed, ['ls-files', '--others', '-z'], 'list the untracked files')).split('\0').filter(Boolean);
  // A nested repository is listed as "dir/": never a temp file.
  const tempFiles = others.filter((rel) => !rel.endsWith('/') && !rel.startsWith(`${FERRY_DIR}/`) && firstMatch(v.config.temp_patterns, { abs: join(v.managed, rel), home: homedir(), rel }) !== undefined);
  const unusedKeys = await unusedAnnexKeys(v);
  // An upload's temp file is named <key>.<epoch ms>.<random> by git-annex-remote-ferry: one older
  // than a day is a crashed upload (rclone copies the source's modification time, so that says nothing).
  const now = Date.now();
  const tmp = await listCloud(v.t, v.cloud(CLOUD.annexTmp), 'list unfinished uploads', { filesOnly: true });
  const leftovers = tmp
    .filter((e) => {
      const at = /\.(\d{13})\.[0-9a-f]{8}$/.exec(e.Name)?.[1];
      return at !== undefined && now - Number(at) > DAY;
    })
    .map((e) => `${CLOUD.annexTmp}/${e.Path}`);
  return { tempFiles, unusedKeys, leftovers };
}

/**
 * Removes what `planClean` listed: the temp files, the unused annexed versions through `git annex
 * dropunused` (which verifies numcopies live in the cloud and keeps any version it cannot find
 * there), and the upload leftovers.
 */
export async function applyClean(v: Vault, plan: CleanPlan): Promise<CleanReport> {
  for (const rel of plan.tempFiles) await rm(join(v.managed, rel), { force: true, recursive: true });
  let dropped = 0;
  const kept: string[] = [];
  if (plan.unusedKeys.length) {
    // dropunused refuses, one by one, what it cannot verify in the cloud (numcopies); what is still unused after it was kept.
    await v.t.run('git-annex', ['dropunused', 'all'], { cwd: v.managed, what: 'drop unused annexed content', ok: [1] });
    const still = new Set(await unusedAnnexKeys(v));
    for (const k of plan.unusedKeys) {
      if (still.has(k)) kept.push(k);
      else dropped++;
    }
  }
  for (const p of plan.leftovers) await removeCloud(v.t, v.cloud(p), `remove the leftover ${p}`);
  return { ...plan, removedTemp: plan.tempFiles.length, droppedKeys: dropped, keptKeys: kept, removedLeftovers: plan.leftovers.length };
}

/** The annexed versions no branch uses that this device has (`git annex unused`; its --quiet prints nothing). */
export async function unusedAnnexKeys(v: Vault): Promise<string[]> {
  const out = await v.t.annex(v.managed, ['unused'], 'look for unused annexed content');
  return [...out.matchAll(/^\s+\d+\s+(\S+)$/gm)].map((m) => m[1]!);
}
