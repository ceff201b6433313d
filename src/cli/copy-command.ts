import { Command, Option } from 'commander';
import { describe } from './command-list.js';
import { FerryError } from '../core/errors.js';
import { ALGORITHMS, isAlgorithm } from '../core/hash.js';
import type { CopyOptions } from '../faces/copy/copy.js';
import { COPY_DEFAULTS } from '../faces/copy/defaults.js';
import { totalmem } from 'node:os';
import { formatBytes, parseCount, parseDurationNs, parsePositiveInt, parseSize } from '../core/units.js';

export interface CopyFlags {
  db?: string;
  log?: string;
  bwlimit?: string;
  checksum: string;
  deleteExtras?: boolean;
  maxDelete?: string;
  trash?: string;
  rescan?: boolean;
  blockSize: string;
  queueCapacity: string;
  transfers: string;
  modifyWindow?: string;
  dryRun?: boolean;
  perms?: boolean;
  owner?: boolean;
  partial?: boolean;
  json?: boolean;
  verbose?: boolean;
  progress?: boolean;
  lease?: string;
  status?: boolean;
}

/** Declares `ferry copy` and its options (the action is attached by main). */
export function copyCommand(): Command {
  return new Command('copy')
    .description(describe('copy'))
    .usage('[options] <source> <destination>\n       ferry copy --status [<source> <destination>] [--db PATH|URL] [--json]')
    .argument('[source]', 'the directory to copy from (never modified)')
    .argument('[destination]', 'the directory to copy into (created when missing)')
    .option('--db <path>', 'the job database (default: $XDG_STATE_HOME/ferry/copy-<id>.db, one per SOURCE → DESTINATION), or a postgres:// URL that several workers share')
    .option('--status', 'show the job and, on PostgreSQL, every worker (host, pid, state, files, rate, last heartbeat); copy nothing')
    .option('--lease <time>', 'PostgreSQL: how long a worker\'s claim on a file lasts without its heartbeat (a worker killed mid-file loses it then)', '60s')
    .option('--log <path>', 'the audit log, JSON Lines (default: the database path with .log)')
    .option('--bwlimit <rate>', 'bandwidth limit in bytes per second: 20M = 20 MiB/s (K, M, G suffixes; plain bytes)')
    .addOption(
      new Option('--checksum <algorithm>', `hash computed while reading: ${ALGORITHMS.join(', ')} or none`).default(COPY_DEFAULTS.checksum),
    )
    .option('--delete-extras', 'mirror: after copying, delete destination files that the source does not have (off by default)')
    .option('--max-delete <n>', 'with --delete-extras: refuse to delete anything when more than N files would go')
    .option('--trash <dir>', 'move what ferry removes into DIR instead of deleting it (same filesystem): extras of a mirror, entries replaced by one of another kind')
    .option('--rescan', 'scan both trees even when the backlog still has pending files')
    .option('--block-size <size>', 'bytes per pipeline block', '5M')
    .option('--queue-capacity <n>', 'blocks the FIFO between reader and writer holds', String(COPY_DEFAULTS.queueCapacity))
    .option('--transfers <n>', 'files streamed at the same time (small files: 8 times as many)', String(COPY_DEFAULTS.transfers))
    .option('--modify-window <time>', 'mtimes closer than this count as equal: 0, 1us, 2ms, 2s (default: probed from both trees)')
    .option('--dry-run', 'scan and list what would be copied and deleted; change nothing (not even the database)')
    .option('--perms', 'give copies exactly the source\'s permission bits (by default they get the source\'s bits masked by the umask, never wider)')
    .option('--owner', 'give copies the source\'s owner and group (needs root)')
    .option('--partial', 'keep the temp file of a file stopped mid-way, and go on from it next time (after comparing it with the source)')
    .option('--json', 'print events as NDJSON on stdout instead of text')
    .option('-v, --verbose', 'print a line per copied file')
    .option('--no-progress', 'no progress output: no live panel on a terminal, no periodic lines when piped');
}

/** Turns the command line into CopyOptions; every bad value becomes one USAGE sentence. */
export function parseCopyFlags(source: string | undefined, destination: string | undefined, f: CopyFlags): CopyOptions {
  // The two arguments are optional only for --status.
  if (source === undefined) throw new FerryError('USAGE', "Missing required argument 'source'.", { hint: 'run `ferry copy --help` for usage' });
  if (destination === undefined) throw new FerryError('USAGE', "Missing required argument 'destination'.", { hint: 'run `ferry copy --help` for usage' });
  const checksum = f.checksum.toLowerCase();
  if (checksum !== 'none' && !isAlgorithm(checksum)) {
    throw new FerryError('USAGE', `--checksum takes one of ${ALGORITHMS.join(', ')} or none, not "${f.checksum}".`);
  }
  return {
    source,
    destination,
    db: f.db,
    log: f.log,
    bwlimit: f.bwlimit === undefined ? undefined : parseSize(f.bwlimit, '--bwlimit'),
    checksum: checksum === 'none' ? null : (checksum as CopyOptions['checksum']),
    deleteExtras: f.deleteExtras === true,
    maxDelete: f.maxDelete === undefined ? undefined : parseCount(f.maxDelete, '--max-delete'),
    trash: f.trash,
    rescan: f.rescan === true,
    ...pipelineSizes(f),
    modifyWindowNs: f.modifyWindow === undefined ? undefined : parseDurationNs(f.modifyWindow, '--modify-window'),
    dryRun: f.dryRun === true,
    perms: f.perms === true,
    owner: f.owner === true,
    partial: f.partial === true,
    leaseMs: parseLease(f.lease ?? '60s'),
  };
}

/** A lease of at least a second (heartbeats come every second, or every third of a shorter lease) and at most a day. */
function parseLease(text: string): number {
  const ns = parseDurationNs(text, '--lease');
  if (ns < 1_000_000_000n || ns > 86_400_000_000_000n) throw new FerryError('USAGE', `--lease takes a time from 1s to 24h, not "${text}".`);
  return Number(ns / 1_000_000n);
}

/** The largest block: one Node buffer holds at most about 4 GiB, and a block this size is already far past what pays. */
export const MAX_BLOCK = 1024 ** 3;

/**
 * The pipeline's sizes, bounded by what it can hold: (capacity + transfers + 1) blocks are allocated
 * at the start, and they must fit in half of this machine's memory.
 */
function pipelineSizes(f: CopyFlags): Pick<CopyOptions, 'blockSize' | 'queueCapacity' | 'transfers'> {
  const blockSize = parseSize(f.blockSize, '--block-size');
  if (blockSize > MAX_BLOCK) throw new FerryError('USAGE', `--block-size takes at most 1G, not "${f.blockSize}".`);
  const queueCapacity = parsePositiveInt(f.queueCapacity, '--queue-capacity', 10_000);
  const transfers = parsePositiveInt(f.transfers, '--transfers', 256);
  const pool = (queueCapacity + transfers + 1) * blockSize;
  if (pool > totalmem() / 2) {
    throw new FerryError('USAGE', `--block-size ${f.blockSize} with --queue-capacity ${queueCapacity} and --transfers ${transfers} would hold ${formatBytes(pool)} of buffers, more than half of this machine's ${formatBytes(totalmem())}; lower one of them.`);
  }
  return { blockSize, queueCapacity, transfers };
}
