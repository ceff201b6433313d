import { formatBytes } from '../core/units.js';
import type { Explanation } from '../faces/route/explain.js';
import type { RouteConfig } from '../faces/route/config.js';
import type { ConnectedVolume } from '../faces/route/connected.js';
import type { Router } from '../faces/route/router.js';
import type { DriveStats } from '../core/route-store.js';

/** Tables for `list-drives`, `status`, `list-connected` and `explain`: text for people, JSON for scripts. */
export interface View {
  text: string;
  json: unknown;
}

const when = (ns: bigint | null | undefined): string => (ns ? new Date(Number(ns / 1_000_000n)).toISOString() : 'never');

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => `${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}\n`;
  return line(head) + rows.map(line).join('');
}

export function driveLines(config: RouteConfig, router: Router, stats: DriveStats[]): View {
  const json = config.drives.map((d) => {
    const s = stats.find((x) => x.id === d.id);
    const here = router.online.get(d.id);
    return {
      label: d.label, category: d.category, id: d.id, here: here !== undefined, location: here?.root ?? null, path: d.path ?? null,
      fsUuid: d.fsUuid ?? null, fsLabel: d.fsLabel ?? null, folder: d.folder, lastSeen: s?.lastSeenNs ? when(s.lastSeenNs) : null,
    };
  });
  if (json.length === 0) return { text: 'no drives registered: `ferry route register-drive --label L --category C [--path MOUNT]`\n', json };
  const rows = json.map((d) => [d.label, d.category, d.here ? `here at ${d.location}` : 'away', d.lastSeen ?? 'never', d.id]);
  return { text: table(['LABEL', 'CATEGORY', 'STATE', 'LAST SEEN', 'ID'], rows), json };
}

export function statusLines(config: RouteConfig, router: Router, stats: DriveStats[]): View {
  const json = config.drives.map((d) => {
    const s = stats.find((x) => x.id === d.id);
    return {
      label: d.label, category: d.category, here: router.online.has(d.id), delivered: s?.delivered ?? 0, deliveredBytes: Number(s?.deliveredBytes ?? 0n),
      pending: s?.pending ?? 0, pendingBytes: Number(s?.pendingBytes ?? 0n), failing: s?.failing ?? 0, lastSeen: s?.lastSeenNs ? when(s.lastSeenNs) : null,
    };
  });
  if (json.length === 0) return { text: 'no drives registered\n', json };
  const rows = json.map((d) => [
    d.label, d.category, d.here ? 'here' : 'away', `${d.delivered} (${formatBytes(d.deliveredBytes)})`,
    `${d.pending} (${formatBytes(d.pendingBytes)})${d.failing ? `, ${d.failing} failing` : ''}`, d.lastSeen ?? 'never',
  ]);
  return { text: table(['DRIVE', 'CATEGORY', 'STATE', 'DELIVERED', 'PENDING', 'LAST SEEN'], rows), json };
}

/** The table of `list-connected`. */
export function connectedLines(json: ConnectedVolume[]): View {
  if (json.length === 0) return { text: 'no volumes mounted\n', json };
  const rows = json.map((v) => [v.mountPoint, v.fsType, v.device || '-', v.label ?? '-', v.uuid ?? '-', v.drive ?? '-']);
  return { text: table(['MOUNT', 'TYPE', 'DEVICE', 'LABEL', 'UUID', 'DRIVE'], rows), json };
}

export function explainLines(e: Explanation, config: RouteConfig): string {
  const c = e.classification;
  const d = c.detection;
  const how: Record<typeof d.by, string> = {
    magic: `magic bytes (${d.magic?.ext})`,
    'magic+extension': `magic bytes say ${d.magic?.mime}; the extension .${d.extension} names which kind`,
    text: 'no magic bytes; the content is text',
    'text+extension': `no magic bytes; the content is text, and .${d.extension} names which`,
    binary: 'no magic bytes, and not text',
    empty: 'the file is empty',
  };
  const lines = [`${e.path}`, `  size      ${formatBytes(e.size)}`, `  content   ${d.mime}: ${how[d.by]}`];
  for (const check of c.checks) {
    lines.push(`  rule ${check.index + 1}    → ${check.category}: ${check.matched ? 'matches' : 'no'} (${check.reasons.join('; ')})`);
  }
  lines.push(`  category  ${c.category}${c.rule === null ? ` (built-in table${config.rules.length ? ', no rule matched' : ''})` : ` (rule ${c.rule + 1})`}`);
  lines.push(`  blake3    ${e.hash}`);
  if (e.notRouted) lines.push(`  routed    no: ${e.notRouted}; the scan leaves it where it is`);
  if (e.drives.length === 0) lines.push(`  drives    none takes ${c.category}: the file stays where it is`);
  for (const v of e.drives) lines.push(`  drive     ${v.label} (${v.here ? 'here' : 'away'}): ${v.state}`);
  return `${lines.join('\n')}\n`;
}
