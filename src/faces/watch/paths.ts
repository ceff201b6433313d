import { join } from 'node:path';
import { stateDir } from '../../core/defaults.js';

/** Where `ferry watch` keeps its index unless --db says otherwise: one per user. */
export function defaultIndexDbPath(env = process.env): string {
  return join(stateDir(env), 'watch.db');
}
