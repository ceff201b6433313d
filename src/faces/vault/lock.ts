import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { FerryError } from '../../core/errors.js';
import { readCloud, removeCloud, writeCloud } from './cloud.js';
import { CLOUD, type Vault } from './vault.js';

/** What a lock file in coordination/locks/ says: who holds it, for what, until when. */
export interface Lease {
  owner: string;
  host: string;
  pid: number;
  token: string;
  purpose: string;
  acquired: string;
  expires: string;
}

export interface HeldLock {
  readonly lease: Lease;
  /** Throws when the lease was lost (expired and taken, or removed): nothing may be published then. */
  check(): Promise<void>;
  release(): Promise<void>;
}

export const LOCK_NAME = 'vault.lock';

export function lockPath(v: Vault): string {
  return v.cloud(`${CLOUD.locks}/${LOCK_NAME}`);
}

function parseLease(text: string | undefined): Lease | undefined {
  if (!text) return undefined;
  try {
    const l = JSON.parse(text) as Partial<Lease>;
    return typeof l.token === 'string' && typeof l.expires === 'string' ? (l as Lease) : undefined;
  } catch {
    return undefined; // a torn or foreign file: treated as no lease (it is overwritten)
  }
}

/** The lease in the cloud now, or undefined. */
export async function currentLease(v: Vault): Promise<Lease | undefined> {
  return parseLease(await readCloud(v.t, lockPath(v), 'read the vault lock'));
}

/**
 * A lease of this very machine whose process is gone (killed, crashed): it is over now, not when it
 * expires. A process of another machine cannot be asked; its lease runs out.
 */
export function diedHere(l: Lease): boolean {
  if (l.host !== hostname() || !Number.isInteger(l.pid) || l.pid <= 0) return false;
  try {
    process.kill(l.pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export function describeLease(l: Lease): string {
  return `${l.owner} (host ${l.host}, pid ${l.pid}, ${l.purpose}) until ${l.expires}`;
}

/**
 * Takes the vault's lock, a lease in the cloud: a device writes its lease when there is none or the
 * one there has expired, reads it back a moment later, and holds the lock when its own token is the
 * one there (two devices that wrote at once: the last write wins, the other sees it and waits). While
 * held, the lease is renewed every third of its time; a device that died leaves a lease that simply
 * expires (at once when it was a process of this machine that is gone). Another device's live
 * lease is waited for up to `waitSeconds`, then refused with a sentence naming the holder.
 */
export async function acquireLock(v: Vault, purpose: string, waitSeconds: number, settleMs = 150): Promise<HeldLock> {
  const ttl = v.config.lock_ttl_seconds * 1000;
  const token = randomUUID();
  const lease = (): Lease => ({
    owner: v.device,
    host: hostname(),
    pid: process.pid,
    token,
    purpose,
    acquired: new Date().toISOString(),
    expires: new Date(Date.now() + ttl).toISOString(),
  });
  const deadline = Date.now() + waitSeconds * 1000;
  let mine: Lease | undefined;
  for (;;) {
    const there = await currentLease(v);
    if (there && there.token !== token && Date.parse(there.expires) > Date.now() && !diedHere(there)) {
      if (Date.now() >= deadline) {
        throw new FerryError('VAULT_LOCKED', `The vault is locked by ${describeLease(there)}.`, {
          hint: 'its lease ends by itself if that device stopped; try again then, or wait longer with --wait SECONDS',
        });
      }
      await sleep(Math.min(1000, Math.max(50, deadline - Date.now())));
      continue;
    }
    mine = lease();
    await writeCloud(v.t, lockPath(v), JSON.stringify(mine), 'write the vault lock');
    await sleep(settleMs);
    const back = await currentLease(v);
    if (back?.token === token) break;
  }
  let held: Lease = mine;
  let lost: string | undefined;
  let renewing: Promise<void> = Promise.resolve();
  const renew = async (): Promise<void> => {
    const there = await currentLease(v).catch(() => undefined);
    if (there?.token !== token) {
      lost = there ? `it was taken by ${describeLease(there)}` : 'it was removed';
      return;
    }
    held = { ...lease(), acquired: held.acquired };
    await writeCloud(v.t, lockPath(v), JSON.stringify(held), 'renew the vault lock').catch(() => undefined);
  };
  const timer = setInterval(() => void (renewing = renewing.then(renew)), Math.max(500, ttl / 3));
  timer.unref();
  return {
    get lease() {
      return held;
    },
    async check() {
      await renewing;
      if (!lost && Date.parse(held.expires) <= Date.now()) lost = 'it expired';
      if (!lost) {
        const there = await currentLease(v);
        if (there?.token !== token) lost = there ? `it was taken by ${describeLease(there)}` : 'it was removed';
        // The lease in the cloud is what others see: it must still have time left (a renewal may have failed).
        else if (Date.parse(there.expires) - Date.now() < ttl / 10) lost = `its lease in the cloud ends at ${there.expires}`;
      }
      if (lost) throw new FerryError('VAULT_LOCKED', `This device lost the vault lock (${lost}); nothing was published to the cloud.`, { hint: 'run `ferry vault sync` again' });
    },
    async release() {
      clearInterval(timer);
      await renewing;
      const there = await currentLease(v).catch(() => undefined);
      if (there?.token === token) await removeCloud(v.t, lockPath(v), 'remove the vault lock');
    },
  };
}
