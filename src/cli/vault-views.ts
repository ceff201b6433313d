import { formatBytes } from '../core/units.js';
import type { AddReport } from '../faces/vault/add.js';
import type { CleanPlan, CleanReport } from '../faces/vault/clean.js';
import type { Decided } from '../faces/vault/context.js';
import type { DedupeReport, Recommendation } from '../faces/vault/dedupe.js';
import type { DiffReport, LogEntry } from '../faces/vault/history.js';
import type { VaultStatus } from '../faces/vault/status.js';
import type { RepoSyncReport } from '../faces/vault/repo-sync.js';
import type { SyncReport } from '../faces/vault/sync.js';
import type { VersionedFile } from '../faces/vault/versions.js';

/** One decision: the file, the tool and where, then each reason indented. */
export function decisionLines(d: Decided): string {
  const where = d.decision.where === 'backups' ? `backups/${d.decision.destination}` : d.decision.where === 'managed' ? `managed repo: ${d.decision.destination}` : `${d.repo?.root ?? ''}: ${d.decision.destination}`;
  return `${d.path}\n  → ${d.decision.tool}, ${where}${d.decision.versioned ? '' : ' (not versioned)'}\n${d.decision.reasons.map((r) => `    ${r}\n`).join('')}`;
}

export function addSummary(r: AddReport): string {
  const by = (tool: string) => r.files.filter((f) => f.decision.tool === tool).length;
  const head = r.dryRun ? 'would add' : 'added';
  const lines = [`${head} ${r.files.length} file${r.files.length === 1 ? '' : 's'}: ${by('git')} to git, ${by('git-annex')} to git-annex, ${by('rclone')} to backups with rclone`];
  for (const c of r.commits) lines.push(`  committed ${c.commit} in ${c.repo} (${c.files} files)`);
  if (!r.dryRun && r.commits.some((c) => c.repo)) lines.push('  `ferry vault sync` publishes the commits of the managed repository to the cloud');
  return `${lines.join('\n')}\n`;
}

export function syncSummary(r: SyncReport): string {
  const lines = [`synced ${r.branch} on ${r.device}: ${r.received} commit${r.received === 1 ? '' : 's'} received, ${r.sent} sent${r.committed ? ' (local edits committed first)' : ''}; head ${r.head.slice(0, 10)}`];
  for (const c of r.conflicts) lines.push(`conflict: ${c.path}: ${c.how}${c.kept ? ` (the other version is ${c.kept})` : ''}`);
  if (r.missingContent) lines.push(`notice: ${r.missingContent} annexed file${r.missingContent === 1 ? '' : 's'} could not be fetched: the cloud does not have ${r.missingContent === 1 ? 'its' : 'their'} content yet (the device that added ${r.missingContent === 1 ? 'it' : 'them'} sends it at its next sync)`);
  for (const b of r.diverged) lines.push(`notice: the branch ${b} differs from the cloud's; \`ferry vault branch ${b}\` then sync to merge it`);
  return `${lines.join('\n')}\n`;
}

export function repoSyncSummary(r: RepoSyncReport): string {
  const lines = [`synced ${r.repo}: ${r.upstream ? `${r.received} commits received from ${r.upstream}, ${r.sent} sent` : 'no upstream to pull from or push to'}${r.annex ? '; annexed content to and from the vault\'s cloud' : ''}`];
  for (const c of r.conflicts) lines.push(`conflict: ${c.path}: ${c.how}${c.kept ? ` (the other version is ${c.kept})` : ''}`);
  return `${lines.join('\n')}\n`;
}

export function statusText(s: VaultStatus): string {
  const g = s.git;
  const a = s.annex;
  const lines = [
    `vault:     ${s.managed} ↔ ${s.remote} (device ${s.device})`,
    `git:       ${g.branch} at ${g.head}; ${g.uncommitted.length} uncommitted, ${g.untracked} untracked; ${g.ahead} ahead, ${g.behind} behind the cloud (as of the last sync)`,
    `git-annex: ${a.files} files, ${a.here} with content here, ${a.onlyInCloud} only in the cloud, ${a.notInCloud.length} not yet in the cloud, ${a.belowNumcopies.length} below numcopies ${a.numcopies} (recorded; drop checks live)`,
    `backups:   ${s.backups.files} files, ${formatBytes(s.backups.bytes)} (not versioned)`,
    `devices:   ${s.devices.length ? s.devices.map((d) => `${d.name} (last sync ${d.last_sync})`).join(', ') : 'none yet'}`,
    `lock:      ${s.lock ? `${s.lock.owner} (${s.lock.purpose}) ${s.lock.expired ? `expired at ${s.lock.expires}` : `until ${s.lock.expires}`}` : 'free'}`,
    `last sync: ${s.lastSync?.last_sync ?? 'never'}${s.lastSync?.last_result ? ` (${s.lastSync.last_result}${s.lastSync.message ? `: ${s.lastSync.message}` : ''})` : ''}`,
  ];
  for (const f of g.uncommitted.slice(0, 20)) lines.push(`  uncommitted: ${f}`);
  for (const f of a.belowNumcopies.slice(0, 20)) lines.push(`  below numcopies: ${f}`);
  return `${lines.join('\n')}\n`;
}

export function logText(entries: LogEntry[]): string {
  return entries.map((e) => `${e.commit.slice(0, 10)}  ${e.date}  ${e.device ?? e.author}  ${e.subject}\n`).join('');
}

export function diffText(d: DiffReport): string {
  if (d.text !== undefined) return d.text || `${d.file}: no difference\n`;
  const side = (v: DiffReport['from']) => (v.kind === 'absent' ? 'absent' : v.kind === 'git' ? 'in git' : `${formatBytes(v.size ?? 0)} (${v.size} bytes), sha256 ${v.hash}`);
  return `${d.file} (annexed)\n  ${d.from.commit.slice(0, 10)}: ${side(d.from)}\n  ${d.to.commit.slice(0, 10)}: ${side(d.to)}\n  ${d.identical ? 'identical content' : 'different content'}\n`;
}

export function versionsText(files: VersionedFile[]): string {
  return files.map((f) => `${String(f.versions).padStart(4)}  ${f.tool.padEnd(9)}  ${f.path}  [${f.content}]\n`).join('') || 'the vault keeps no files yet\n';
}

export function dedupeText(r: DedupeReport): string {
  const lines = r.groups.map((g) => `${formatBytes(g.size)} × ${g.copies.length}: ${g.copies.map((c) => `${c.path} (${c.where})`).join(', ')}`);
  lines.push(`${r.groups.length} groups of identical content, ${formatBytes(r.extraBytes)} stored more than once`);
  if (r.removed.length) lines.push(`removed ${r.removed.length} duplicate backup copies (their names are in .ferry/dedupe.json; \`ferry vault get\` still finds them)`);
  else if (r.groups.length) lines.push('`ferry vault dedupe --apply` keeps one copy of each');
  return `${lines.join('\n')}\n`;
}

export function optimizeText(rs: Recommendation[]): string {
  if (rs.length === 0) return 'nothing to optimize\n';
  return rs.map((r) => `${r.kind}: ${r.detail}\n  → ${r.command}\n`).join('');
}

export function cleanPlanText(p: CleanPlan): string {
  const lines = [
    ...p.tempFiles.map((f) => `temp file: ${f}`),
    ...p.unusedKeys.map((k) => `unused annexed version: ${k} (dropped only if the cloud has it)`),
    ...p.leftovers.map((l) => `cloud leftover: ${l}`),
  ];
  return lines.length ? `${lines.join('\n')}\n` : 'nothing to clean\n';
}

export function cleanText(r: CleanReport): string {
  const lines = [`removed ${r.removedTemp} temp files, dropped ${r.droppedKeys} unused annexed versions, removed ${r.removedLeftovers} cloud leftovers`];
  for (const k of r.keptKeys) lines.push(`kept: ${k}: the cloud has no copy of it (numcopies ${'≥'} 1 is never broken)`);
  return `${lines.join('\n')}\n`;
}
