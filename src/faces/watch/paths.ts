import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where `ferry watch` keeps its index unless --db says otherwise: one per user. */
export function defaultIndexDbPath(env = process.env): string {
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'ferry', 'watch.db');
}
