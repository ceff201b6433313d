import { closeSync, constants, openSync, statfsSync } from 'node:fs';
import { lstat, open, rename, stat, unlink } from 'node:fs/promises';
import { release } from 'node:os';
import { join } from 'node:path';
import type { FileEntry } from '../core/entry.js';
import { errnoCode, fileError } from '../core/errors.js';
import type { EntryAttrs, FileTimes, Target, TargetCaps, TargetListOptions } from '../core/target.js';
import type { ListBatch } from '../core/tree.js';
import type { Place } from '../io/beneath.js';
import type { Attrs, Effects, Planned, Replaced, WritePolicy } from '../io/beneath-ops.js';
import { fsPool } from '../io/fs-pool.js';
import { nanosecondTimes, setTimesNs } from '../io/native.js';
import { LocalTree } from './local-tree.js';
import { LocalWriteHandle } from './local-write-handle.js';
import { isStaleTemp, jobTag, randomTempName, TEMP_NAME, tempNameFor } from './temp-names.js';


/** A temp file of ferry's (any job's): never shown as an entry of the target. */
const isOwnTemp = (e: FileEntry): boolean => e.kind === 'file' && TEMP_NAME.test(e.rel.slice(e.rel.lastIndexOf('/') + 1));
const parentOf = (rel: string): string => (rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '');

export interface LocalTargetOptions {
  /** This process as one worker of a job several share (host:pid): its temp names are its own, never another worker's. */
  worker?: string;
  /** The st_dev the root must be on (a removable drive's): once the drive is unmounted, its mount point is a directory of another disk. */
  device?: bigint;
  /** The inode the root must be, with `device`: the directory that was checked, not one put in its place since. */
  inode?: bigint;
  /**
   * Replace what stands where a directory or a file must go: a file or symlink where the source has
   * a directory, an empty directory where it has a file (default true). False on a drive: ferry only
   * adds there, so such a file fails instead.
   */
  replace?: boolean;
  /** Replaced entries go here (the same filesystem), under their relative path, instead of being deleted. */
  trashDir?: string;
  /**
   * Without a trash, replaced files and symlinks are renamed aside (`name.ferry-replaced-<aside>`)
   * instead of deleted: for a copy that is not a mirror, what is in the way may be the user's own.
   */
  aside?: string;
  /** The mode of directories made on the way to a file before their own row came (default 0o777; the umask applies). */
  parentMode?: number;
  /** --perms: give copies exactly the source's permission bits, not only no wider ones. */
  perms?: boolean;
  /** --owner: give copies the source's owner and group. */
  owner?: boolean;
  /** --partial: a scan leaves this job's temp files in place (a later copy goes on from them). */
  keepPartial?: boolean;
  /** Told of each entry moved out of the way, and of an attribute the destination refused (once each). */
  onReplaced?: (r: Replaced) => void;
  onRefused?: (what: 'chmod' | 'chown', rel: string) => void;
}

/** How many directories made on the way are remembered until their own row gives them their mode. */
const IMPLICIT_LIMIT = 65_536;

/**
 * A directory on a mounted filesystem: a local folder, an NFS or SMB share, a USB drive.
 * `identity` names the job that writes here (its temp files carry a tag derived from it).
 * Every write, delete and stat goes through the I/O threads (io/beneath-ops.ts): each walks from
 * the root without following links, and the root must still be the directory it was when the
 * target first used it (else ENXIO: an unmounted share, a pulled drive, a root swapped away). Reads
 * and listings (LocalTree's) walk the same way from the root's path, unpinned: they change nothing.
 */
export class LocalTarget extends LocalTree implements Target {
  private readonly tag: string;
  readonly writeWhole?: (rel: string, data: Uint8Array, times: FileTimes, attrs?: EntryAttrs) => Promise<FileEntry>;
  readonly flushAll?: () => Promise<void>;
  /** Temp paths being written now: a second file whose derived name collides gets a random one. */
  private readonly tempsInFlight = new Set<string>();
  private durability: Durability | undefined;
  private pinned: Promise<Place> | undefined;
  private readonly policy: WritePolicy;
  private readonly umask = process.umask();
  /** Directories made on the way to a file, not yet given their own mode. */
  private readonly implicit = new Set<string>();
  private readonly refusedOnce = new Set<string>();
  /** What the plan may replace (see WritePolicy.replaceable), by path. */
  private planned = new Map<string, Planned>();

  constructor(
    root: string,
    private readonly jobIdentity = root,
    private readonly options: LocalTargetOptions = {},
  ) {
    super(root);
    this.tag = jobTag(options.worker ? `${jobIdentity}\0${options.worker}` : jobIdentity);
    this.policy = {
      replace: options.replace !== false,
      trash: options.trashDir === undefined ? undefined : { root: options.trashDir, pinDev: -1n, pinIno: -1n },
      parentMode: options.parentMode ?? 0o777,
      aside: options.aside,
    };
    if (nanosecondTimes) {
      // The whole-file path needs the native helper (ns times in the pool threads, and syncfs).
      this.writeWhole = async (rel, data, times, attrs) => {
        const place = await this.place();
        const d = this.beforeWriting();
        const temp = this.claimTemp(rel);
        try {
          const r = await fsPool().call('write', { place, rel, temp, data, times, attrs: this.attrs(attrs), syncEach: d.syncEach, policy: this.policyFor(rel) });
          this.report(r.effects, rel);
          return r.entry;
        } finally {
          this.tempsInFlight.delete(`${parentOf(rel)}/${temp}`);
        }
      };
      this.flushAll = async () => {
        if (this.durability) await fsPool().syncfs(this.durability.fd);
      };
    }
  }

  /**
   * The destination entries the plan is to replace (a file where the source now has a directory,
   * or the other way), as the scan saw them: only those, and symlinks, are ever moved out of the way.
   */
  planReplacements(entries: Planned[]): void {
    this.planned = new Map(entries.map((e) => [e.rel, e]));
  }

  /** The write policy for `rel`, with the planned replacements on its way. */
  private policyFor(rel: string): WritePolicy {
    if (this.planned.size === 0) return this.policy;
    const on: Planned[] = [];
    for (let i = rel.indexOf('/'); ; i = rel.indexOf('/', i + 1)) {
      const p = this.planned.get(i < 0 ? rel : rel.slice(0, i));
      if (p) on.push(p);
      if (i < 0) break;
    }
    return on.length === 0 ? this.policy : { ...this.policy, replaceable: on };
  }

  /** Pins the root now (its device and inode): a run pins it before its scan, not at its first write. */
  async pin(): Promise<void> {
    await this.place();
  }

  /** The root as the I/O threads check it: pinned to its device and inode at first use. */
  protected override place(): Promise<Place> {
    this.pinned ??= stat(this.root, { bigint: true }).then(
      (st) => {
        if (!st.isDirectory()) throw fileError('ENOTDIR', `${this.root} is not a directory`);
        if (this.options.device !== undefined && st.dev !== this.options.device) throw fileError('ENXIO', `${this.root} is no longer on the drive it was (it is not mounted there now)`);
        if (this.options.inode !== undefined && st.ino !== this.options.inode) throw fileError('ENXIO', `${this.root} is not the directory it was when it was checked (replaced meanwhile)`);
        return { root: this.root, pinDev: st.dev, pinIno: st.ino };
      },
      (err: unknown) => {
        this.pinned = undefined; // not there yet (a destination made later): pin at the next use
        throw err;
      },
    );
    return this.pinned;
  }

  private attrs(a: EntryAttrs | undefined, dir = false): Attrs {
    // A directory always keeps its owner's rwx (as rsync makes them): ferry, not root, must be able to
    // write into a copy of a read-only directory the next time; no one else gains anything by it.
    const bits = a ? (a.mode & 0o777) | (dir ? 0o700 : 0) : dir ? 0o777 : 0o666;
    return {
      mode: bits,
      umask: this.umask,
      // As `cp -p`: setuid and setgid only where the owner and group are the source's too.
      chmod: this.options.perms && a ? a.mode & (this.options.owner ? 0o7777 : 0o1777) : undefined,
      owner: this.options.owner && a ? { uid: a.uid, gid: a.gid } : undefined,
    };
  }

  /** Tells the listeners what an operation replaced or could not set, and remembers the directories it made. */
  private report(e: Effects, rel: string): void {
    for (const r of e.replaced) this.options.onReplaced?.(r);
    for (const what of e.refused) {
      if (this.refusedOnce.has(what)) continue;
      this.refusedOnce.add(what);
      this.options.onRefused?.(what, rel);
    }
    for (const c of e.created) {
      if (this.implicit.size >= IMPLICIT_LIMIT) this.implicit.clear(); // those stay private (0o700 at most): never wider
      this.implicit.add(c);
    }
  }

  /**
   * Called before every write: the first one opens the descriptor syncfs will use (it must predate
   * the writes whose errors it is to report) and learns how this destination is made durable.
   */
  private beforeWriting(): Durability {
    this.durability ??= openDurability(this.root);
    return this.durability;
  }

  /**
   * Lets go of the descriptor held on the root for syncfs, so a removable drive can be unmounted.
   * Call it after the last write has been flushed; a later write opens a new one.
   */
  async close(): Promise<void> {
    if (!this.durability) return;
    const { fd } = this.durability;
    this.durability = undefined;
    closeSync(fd);
  }

  /** The temp name for `rel`: derived from it (so a resume reuses it), unless another write holds that name. */
  private claimTemp(rel: string): string {
    const dir = parentOf(rel);
    let temp = tempNameFor(this.tag, rel);
    while (this.tempsInFlight.has(`${dir}/${temp}`)) temp = randomTempName(this.tag);
    this.tempsInFlight.add(`${dir}/${temp}`);
    return temp;
  }

  readonly reservedName = TEMP_NAME;

  async dropTempOf(rel: string, worker: string): Promise<void> {
    const cut = rel.lastIndexOf('/');
    const temp = tempNameFor(jobTag(`${this.jobIdentity}\0${worker}`), rel);
    await fsPool().call('remove', { place: await this.place(), rel: cut < 0 ? temp : `${rel.slice(0, cut)}/${temp}` }).catch((err: unknown) => {
      if (errnoCode(err) !== 'ENOENT' && errnoCode(err) !== 'ENOTDIR') throw err;
    });
  }

  /**
   * The tree as a walk finds it, without ferry's temp files: those of an interrupted run are removed
   * (`tidy`) once stale, this job's kept with --partial; a directory holding one is always re-read.
   */
  override async *list(options: TargetListOptions = {}): AsyncGenerator<ListBatch> {
    const exclude = options.exclude ?? [];
    const excluded = (rel: string): boolean => exclude.some((x) => rel === x || rel.startsWith(`${x}/`));
    for await (const batch of this.walk({ ...options, volatileName: TEMP_NAME })) {
      let removed = 0;
      const entries = [];
      for (const e of batch.entries) {
        if (isOwnTemp(e)) {
          if (options.tidy && (await this.removeStaleTemp(e.rel, e.mtimeNs))) removed++;
          continue;
        }
        if (!excluded(e.rel)) entries.push(e);
      }
      yield { ...batch, entries, removedTemps: removed };
    }
  }

  /** The directory's entries, without ferry's temp files (as `list`). */
  override async entries(rel: string): Promise<FileEntry[]> {
    return (await super.entries(rel)).filter((e) => !isOwnTemp(e));
  }

  private async removeStaleTemp(rel: string, mtimeNs: bigint): Promise<boolean> {
    const name = rel.slice(rel.lastIndexOf('/') + 1);
    if (!isStaleTemp(name, this.tag, mtimeNs, BigInt(Date.now()) * 1_000_000n)) return false;
    // --partial: this job's own temp files are kept for the copy that goes on from them.
    if (this.options.keepPartial && TEMP_NAME.exec(name)?.[1] === this.tag) return false;
    await fsPool().call('remove', { place: await this.place(), rel });
    return true;
  }

  async probe(): Promise<TargetCaps> {
    const rootBefore = await stat(this.root, { bigint: true });
    const probe = join(this.root, randomTempName(this.tag));
    const fh = await open(probe, 'wx', 0o600);
    let keepsModes = true;
    try {
      // An odd mode no share picks for all its files; one that refuses chmod keeps no modes either.
      await fh.chmod(0o604).catch(() => (keepsModes = false));
    } finally {
      await fh.close();
    }
    try {
      // An odd second (FAT keeps even ones) with a digit in every decimal place: what comes back
      // tells the stored precision.
      const wanted = 1_600_000_001_123_456_789n;
      await setTimesNs(probe, wanted, wanted);
      const got = (await lstat(probe, { bigint: true })).mtimeNs;
      const diff = wanted > got ? wanted - got : got - wanted;
      let precision = 1n;
      while (precision <= 1_000_000_000n && diff >= precision) precision *= 10n;
      if (precision > 1_000_000_000n) precision = 2_000_000_000n;
      // Only the probe's own name changes case (the root's path may hold letters too).
      const name = probe.slice(probe.lastIndexOf('/') + 1);
      const upper = probe.slice(0, probe.length - name.length) + name.replace(/[a-f]/g, (c) => c.toUpperCase()).replace('.ferry-tmp-', '.FERRY-TMP-');
      const caseSensitive = await lstat(upper).then(
        () => false,
        () => true,
      );
      keepsModes &&= ((await lstat(probe)).mode & 0o777) === 0o604;
      return { timePrecisionNs: precision, caseSensitive, keepsModes };
    } finally {
      await unlink(probe).catch(() => undefined);
      // Leave no trace but the ctime: the probe's create and unlink moved the root's mtime.
      await setTimesNs(this.root, rootBefore.atimeNs, rootBefore.mtimeNs).catch(() => undefined);
    }
  }

  /**
   * Rejects EXDEV when `trashDir` is not on the same filesystem (mount) as the root: extras are moved
   * there by rename, which cannot cross one. Leaves nothing behind.
   */
  async checkTrash(trashDir: string): Promise<void> {
    const name = randomTempName(this.tag);
    const from = join(this.root, name);
    await (await open(from, 'wx')).close();
    try {
      await rename(from, join(trashDir, name));
      await unlink(join(trashDir, name));
    } finally {
      await unlink(from).catch(() => undefined);
    }
  }

  /** Bytes in the temp file a stopped run left for `rel` (--partial), 0 when there is none. */
  async partialSize(rel: string): Promise<number> {
    const dir = parentOf(rel);
    const temp = tempNameFor(this.tag, rel);
    const e = await fsPool().call('stat', { place: await this.place(), rel: dir === '' ? temp : `${dir}/${temp}` });
    return e?.kind === 'file' ? Number(e.size) : 0;
  }

  async openWrite(rel: string, attrs?: EntryAttrs, options: { keepPartial?: boolean } = {}): Promise<LocalWriteHandle> {
    const place = await this.place();
    if (this.flushAll) this.beforeWriting();
    const temp = this.claimTemp(rel);
    const done = (): boolean => this.tempsInFlight.delete(`${parentOf(rel)}/${temp}`);
    try {
      const a = this.attrs(attrs);
      const keep = options.keepPartial === true && temp === tempNameFor(this.tag, rel);
      const policy = this.policyFor(rel);
      const r = await fsPool().call('openTemp', { place, rel, temp, attrs: a, keep, policy });
      this.report(r.effects, rel);
      return new LocalWriteHandle({ place, rel, temp, fd: r.fd, kept: r.kept, attrs: a, policy, report: (e) => this.report(e, rel), done });
    } catch (err) {
      done();
      throw err;
    }
  }

  async symlink(rel: string, linkTarget: string, times: FileTimes, attrs?: EntryAttrs): Promise<void> {
    const place = await this.place();
    if (this.flushAll) this.beforeWriting();
    const temp = this.claimTemp(rel);
    try {
      const r = await fsPool().call('symlink', { place, rel, temp, linkTarget, times, attrs: this.attrs(attrs), policy: this.policyFor(rel) });
      this.report(r.effects, rel);
    } finally {
      this.tempsInFlight.delete(`${parentOf(rel)}/${temp}`);
    }
  }

  async mkdir(rel: string, attrs?: EntryAttrs): Promise<void> {
    const fix = this.implicit.delete(rel);
    const r = await fsPool().call('mkdir', { place: await this.place(), rel, attrs: this.attrs(attrs, true), fix, policy: this.policyFor(rel) });
    this.report(r.effects, rel);
  }

  async rename(from: string, to: string): Promise<void> {
    const r = await fsPool().call('rename', { place: await this.place(), from, to, policy: this.policyFor(to) });
    this.report(r.effects, to);
  }

  async setTimes(rel: string, times: FileTimes): Promise<void> {
    await fsPool().call('setTimes', { place: await this.place(), rel, times });
  }

  async remove(rel: string, options: { trashDir?: string } = {}): Promise<string | undefined> {
    if (rel === '') throw fileError('EINVAL', `the root ${this.root} itself is never removed`);
    const trash = options.trashDir === undefined ? undefined : { root: options.trashDir, pinDev: -1n, pinIno: -1n };
    try {
      return (await fsPool().call('remove', { place: await this.place(), rel, trash })) ?? undefined;
    } catch (err) {
      if (errnoCode(err) !== 'EXDEV' || !options.trashDir) throw err;
      throw fileError('EXDEV', `the trash directory ${options.trashDir} is on another filesystem than ${this.root}`);
    }
  }
}

/** How small files written without their own fdatasync are made durable on this destination. */
interface Durability {
  /** A descriptor of the root opened before the first such write, for syncfs (see FsPool.syncfs). */
  fd: number;
  /** fdatasync every file instead: syncfs does not reach FUSE daemons, nor report errors before Linux 5.8. */
  syncEach: boolean;
}

const FUSE_MAGIC = 0x65735546;

function openDurability(root: string): Durability {
  const fd = openSync(root, constants.O_RDONLY | (constants.O_DIRECTORY ?? 0));
  const [major = 0, minor = 0] = release().split('.').map((n) => Number.parseInt(n, 10));
  const oldKernel = major < 5 || (major === 5 && minor < 8);
  let fuse: boolean;
  try {
    fuse = statfsSync(root).type === FUSE_MAGIC;
  } catch {
    fuse = true; // cannot tell: be safe
  }
  return { fd, syncEach: fuse || oldKernel };
}
