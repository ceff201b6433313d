import { jsonLine } from './ndjson.js';
import type { FerryEvent } from '../core/events.js';
import { formatBytes, formatDuration } from '../core/units.js';
import { clean, shown } from './quote.js';

export interface RouteRendererOptions {
  write: (text: string) => void;
  writeErr: (text: string) => void;
  verbose: boolean;
  /** A terminal: progress is one line redrawn in place. */
  tty: boolean;
  /** The terminal's width: the progress line is cut to fit, or it would wrap and never be cleared. */
  columns?: () => number;
}

/** `ferry route`'s lines: what was queued, delivered, refused; progress on a terminal. */
export function routeRenderer(o: RouteRendererOptions): (e: FerryEvent) => void {
  let progress = false;
  const clear = (): void => {
    if (progress) o.write('\r\x1b[2K');
    progress = false;
  };
  const out = (t: string): void => {
    clear();
    o.write(`${t}\n`);
  };
  const err = (t: string): void => {
    clear();
    o.writeErr(`${t}\n`);
  };
  return (e) => {
    switch (e.type) {
      case 'route.classified':
        if (o.verbose) out(`${shown(e.path)}: ${e.mime} (${e.by}) → ${e.category}`);
        break;
      case 'route.queued':
        out(`queued ${shown(e.path)} (${formatBytes(e.size)}) for ${e.drive} [${e.category}]`);
        break;
      case 'route.duplicate':
        out(`${shown(e.path)}: same content as ${shown(e.sameAs)}, ${e.queued ? 'already queued for' : 'already on'} ${e.drive}: not delivered twice`);
        break;
      case 'route.present':
        out(`${shown(e.path)}: already on ${e.drive} with the same content (${shown(e.destination)})`);
        break;
      case 'route.error':
        err(`cannot read ${shown(e.path)}: ${clean(e.message)}`);
        break;
      case 'scan.error':
        err(`scan error: ${e.path || '.'}: ${clean(e.message)}`);
        break;
      case 'drive.online':
        out(`drive ${e.drive} is here (${shown(e.location)})`);
        break;
      case 'drive.offline':
        out(`drive ${e.drive} went away: ${clean(e.reason)}`);
        break;
      case 'drive.refused':
        err(`refused ${shown(e.location)}: ${clean(e.reason)}; ferry will not write to it (drive ${e.drive})`);
        break;
      case 'drive.done':
        out(
          `${e.drive}: delivered ${e.delivered} file(s), ${formatBytes(e.bytes)}` + (e.failed ? `, ${e.failed} failed` : '') +
            `; ${e.pendingLeft} pending` + (e.stopped ? ` (stopped: ${e.stopped})` : ''),
        );
        break;
      case 'file.done':
        out(`delivered ${shown(e.path)} → ${shown(e.destination)}`);
        break;
      case 'file.error':
        err(`failed ${shown(e.path)}: ${clean(e.message)} (stays queued)`);
        break;
      case 'file.skip':
        if (e.reason === 'pending') break; // stays queued: the drive's summary says so
        out(e.reason === 'changed' ? `${shown(e.path)} changed while read: queued again` : `${shown(e.path)} left the source: dropped from the queue`);
        break;
      case 'notice':
        out(`note: ${clean(e.message)}`);
        break;
      case 'stats':
        if (o.tty && e.phase === 'transferring' && e.current.length > 0) {
          const eta = formatDuration(e.etaBacklogSec);
          const line = `${shown(e.current[0]!.path)}  ${formatBytes(e.bytesSession)} · ${formatBytes(e.rateNow)}/s · ${e.backlogFiles} left · ETA ${eta}`;
          const width = Math.max(20, (o.columns?.() ?? 100) - 1);
          o.write(`\r\x1b[2K${line.length > width ? `…${line.slice(line.length - width + 1)}` : line}`);
          progress = true;
        }
        break;
      default:
        break;
    }
  };
}

/** What `sync-once` and `process-pending` say at the end (the face's DeliveryReport, as report/ sees it). */
export interface DeliverySummary {
  scan?: { files: number; classified: number; queued: number };
  drives: Map<string, object>;
  delivered: number;
  waiting: Array<{ label: string; pending: number }>;
}

/** The summary line: what the scan found (sync-once), what was delivered, which drives are awaited. */
export function deliverySummaryLine(s: DeliverySummary): string {
  const waiting = s.waiting.length === 0 ? '' : `; waiting for ${s.waiting.map((w) => `${w.label} (${w.pending})`).join(', ')}`;
  if (!s.scan) return `delivered ${s.delivered} file(s)${waiting}\n`;
  return `scanned ${s.scan.files} file(s): ${s.scan.classified} new or changed, ${s.scan.queued} queued; delivered ${s.delivered}${waiting}\n`;
}

/** `--json`: the summary as the last JSON line, each drive's result under its id (counts are numbers). */
export function deliverySummaryJson(s: DeliverySummary): string {
  const summary = { type: 'summary', ...(s.scan ? { scan: s.scan } : {}), drives: Object.fromEntries(s.drives) };
  return jsonLine(summary);
}
