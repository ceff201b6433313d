import { errnoCode, FerryError } from '../core/errors.js';

/** A failed listen as one sentence (a port in use, a privileged port, an address this machine does not have). */
export function cannotListen(err: unknown, host: string, port: number): FerryError {
  const why: Record<string, string> = {
    EADDRINUSE: 'the address is already in use (another server on that port?)',
    EACCES: 'permission denied (ports below 1024 need root)',
    EADDRNOTAVAIL: 'this machine has no such address',
    ENOTFOUND: 'the host name cannot be resolved',
    EAI_AGAIN: 'the host name cannot be resolved',
  };
  const code = errnoCode(err);
  const reason = (code && why[code]) ?? (err instanceof Error ? err.message : String(err));
  return new FerryError('USAGE', `Cannot listen on ${host}:${port}: ${reason}.`, { cause: err });
}
