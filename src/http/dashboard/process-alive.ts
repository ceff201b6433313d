import { hostname } from 'node:os';
import { pidAlive } from '../../store/lock.js';

/** Whether process `pid` of `host` still runs: undefined when it is another machine's (it cannot be asked). */
export function processAlive(host: string, pid: number): boolean | undefined {
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0) return undefined;
  return pidAlive(pid);
}
