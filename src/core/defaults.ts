import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Algorithm } from './hash.js';

/**
 * Where every face keeps its state unless told otherwise (databases, audit logs):
 * `$XDG_STATE_HOME/ferry`, else `~/.local/state/ferry`.
 */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'ferry');
}

/** Where ferry's configuration files live: `$XDG_CONFIG_HOME/ferry`, else `~/.config/ferry`. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'ferry');
}

/**
 * A copy's pipeline unless a face's options say otherwise (seed 001 §2.3): sha256 computed while
 * reading, 5 MiB blocks, a FIFO of 20 of them, 4 files streamed at once.
 */
export const PIPELINE_DEFAULTS = {
  /** The checksum computed while reading (seed 001: sha256). */
  checksum: 'sha256' as Algorithm,
  blockSize: 5 * 1024 * 1024,
  queueCapacity: 20,
  transfers: 4,
} as const;
