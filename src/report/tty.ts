import type { FerryEvent, StatsSnapshot } from '../core/events.js';
import { formatBytes, formatDuration } from '../core/units.js';
import { plainRenderer, type RendererOptions } from './plain.js';
import { scanLine, workerLine } from './lines.js';
import { shown } from './quote.js';

const CLEAR_LINE = '\x1b[2K';
const UP = (n: number): string => (n > 0 ? `\x1b[${n}A` : '');

function ellipsize(text: string, width: number): string {
  return text.length <= width ? text : `…${text.slice(text.length - width + 1)}`;
}

/** The live panel (§4.1): phase, current files, rates, ETAs, totals and queue fill. */
export function panelLines(s: StatsSnapshot, width: number): string[] {
  const lines = [`ferry ${s.phase}  ·  ${formatDuration(s.elapsedMs / 1000)} elapsed`];
  for (const c of s.current.slice(0, 4)) {
    const eta = s.rateNow > 0 && c.size > c.done ? formatDuration((c.size - c.done) / (s.rateNow / Math.max(1, s.current.length))) : '--';
    const pct = c.size > 0 ? Math.floor((c.done * 100) / c.size) : 100;
    lines.push(`  ${ellipsize(shown(c.path), Math.max(10, width - 40))}  ${formatBytes(c.done)}/${formatBytes(c.size)} ${pct}%  ETA ${eta}`);
  }
  lines.push(`  rate   ${formatBytes(s.rateNow)}/s now · ${formatBytes(s.rateAvg)}/s avg    queue ${s.queue.used}/${s.queue.capacity}`);
  lines.push(
    `  done   ${s.filesDone} file(s) · ${formatBytes(s.bytesSession)} this run · ${formatBytes(s.bytesOverall)} overall` +
      (s.filesFailed ? ` · ${s.filesFailed} failed` : ''),
  );
  lines.push(`  left   ${s.backlogFiles} file(s) · ${formatBytes(s.backlogBytes)} · ETA ${formatDuration(s.etaBacklogSec)}`);
  return lines.map((l) => ellipsize(l, width));
}

/**
 * On a terminal: the plain lines above a panel redrawn in place. Messages are printed after clearing
 * the panel, so they scroll up and stay readable.
 */
export function ttyRenderer(o: RendererOptions & { columns: () => number }): (e: FerryEvent) => void {
  let drawn = 0;
  let panel: string[] = [];
  const scanning = new Map<string, string>();
  const clear = (): string => {
    let out = '';
    if (drawn > 0) {
      out += `${UP(drawn)}\r`;
      for (let i = 0; i < drawn; i++) out += `${CLEAR_LINE}\n`;
      out += UP(drawn);
    }
    drawn = 0;
    return out;
  };
  const redraw = (): void => {
    o.write(`${clear()}${panel.map((l) => `${l}\n`).join('')}`);
    drawn = panel.length;
  };
  const above = (write: (t: string) => void) => (text: string): void => {
    o.write(clear());
    write(text);
    if (panel.length > 0) redraw();
  };
  const plain = plainRenderer({ ...o, write: above(o.write), writeErr: above(o.writeErr), progressEveryMs: Number.POSITIVE_INFINITY });
  let stopping = false;
  let crew: Extract<FerryEvent, { type: 'crew' }> | undefined;
  return (e) => {
    if (e.type === 'run.stopping') {
      // The panel goes, and is not drawn again: the message stays readable until the run ends.
      stopping = true;
      panel = [];
    }
    if (stopping && (e.type === 'stats' || e.type === 'scan.progress')) return;
    if (e.type === 'crew') {
      crew = e;
      return;
    }
    if (e.type === 'stats') {
      panel = e.phase === 'transferring' || e.phase === 'mirroring' ? panelLines(e, o.columns()) : [];
      if (panel.length > 0 && crew && crew.workers.length > 1) {
        const { nowMs } = crew;
        panel.push(...crew.workers.slice(-8).map((w) => `  ${workerLine(w, nowMs)}`.slice(0, o.columns())));
      }
      redraw();
      return;
    }
    if (e.type === 'scan.progress' && !e.done) {
      scanning.set(e.side, scanLine(e));
      panel = [...scanning.values()];
      redraw();
      return;
    }
    if (e.type === 'run.end' || e.type === 'plan.done') panel = [];
    if (e.type === 'run.end') o.write(clear());
    plain(e);
  };
}
