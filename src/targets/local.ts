import { closeSync, constants, fstatSync, openSync, statfsSync } from 'node:fs';
import { lstat, mkdir, open, readlink, rename, rmdir, stat, symlink, unlink, type FileHandle } from 'node:fs/promises';
import { release } from 'node:os';
import { dirname, join } from 'node:path';
import { entryFromStats, type FileEntry } from '../core/entry.js';
import { errnoCode } from '../core/errors.js';
import type { FileTimes, Target, TargetCaps, WriteHandle } from '../core/target.js';
import { fsPool } from '../io/fs-pool.js';
import { nanosecondTimes, setTimesNs } from '../io/native.js';
import { notOnDevice } from '../io/fs-protocol.js';
import { TEMP_FLAGS } from '../io/open-flags.js';
import { RealDirs } from './real-dirs.js';
import { isStaleTemp, jobTag, randomTempName, TEMP_NAME, tempNameFor } from './temp-names.js';

/** Writes go out in syscalls of at most this size (see SYSCALL_MAX in the reader). */
const WRITE_MAX = 256 * 1024;

function parentOf(rel: string): string {
  const cut = rel.lastIndexOf('/');
  return cut < 0 ? '' : rel.slice(0, cut);
}

/**
 * A directory on a mounted filesystem: a local folder, an NFS or SMB share, a USB drive.
 * `identity` names the job that writes here (its temp files carry a tag derived from it).
 */
export class LocalTarget implements Target {
  private readonly tag: string;
  private readonly dirs: RealDirs;

  readonly writeWhole?: (rel: string, data: Uint8Array, times: FileTimes) => Promise<FileEntry>;
  readonly flushAll?: () => Promise<void>;
  /** Temp paths being written now: a second file whose derived name collides gets a random one. */
  private readonly tempsInFlight = new Set<string>();
  private durability: Durability | undefined;

  /**
   * `device`: the st_dev the root must be on (a removable drive's). Once the drive is unmounted its
   * path is a bare mount point on another filesystem: every write there fails ENXIO instead.
   * `keepSymlinks`: a symlinked directory on the way to a file fails it rather than being replaced.
   */
  constructor(
    readonly root: string,
    identity = root,
    private readonly options: { device?: bigint; keepSymlinks?: boolean } = {},
  ) {
    this.tag = jobTag(identity);
    this.dirs = new RealDirs(root, options.device === undefined ? undefined : () => this.checkDevice(''), options.keepSymlinks === true);
    if (nanosecondTimes) {
      // The whole-file path needs the native helper (ns times in the pool threads, and syncfs).
      this.writeWhole = async (rel, data, times) => {
        if (parentOf(rel) === '') await this.checkDevice(rel);
        await this.dirs.ensure(parentOf(rel));
        const d = this.beforeWriting();
        const final = this.abs(rel);
        const temp = this.claimTemp(final, rel);
        try {
          const r = await fsPool().write({ temp, final, rel, data, atimeNs: times.atimeNs, mtimeNs: times.mtimeNs, syncEach: d.syncEach, rootDev: d.rootDev, requiredDev: this.options.device });
          return r.entry;
        } finally {
          this.tempsInFlight.delete(temp);
        }
      };
      this.flushAll = async () => {
        if (this.durability) await fsPool().syncfs(this.durability.fd);
      };
    }
  }

  /**
   * Called before every write: the first one opens the descriptor syncfs will use (it must predate
   * the writes whose errors it is to report) and learns how this destination is made durable.
   */
  private beforeWriting(): Durability {
    this.durability ??= openDurability(this.root);
    if (this.options.device !== undefined && this.durability.rootDev !== this.options.device) {
      const { fd } = this.durability;
      this.durability = undefined;
      closeSync(fd);
      throw notOnDevice(this.root);
    }
    return this.durability;
  }

  /**
   * With a required device: fails ENXIO once the root is on another one. Run before a directory is
   * made; a file's temp is checked after it is opened (its fstat), and removed if it is elsewhere.
   */
  private async checkDevice(rel: string): Promise<void> {
    if (this.options.device === undefined) return;
    const s = await stat(this.root, { bigint: true }).catch(() => undefined);
    if (s?.dev !== this.options.device) throw notOnDevice(rel);
  }

  /**
   * Rejects ENOTDIR when a parent of `rel` is not a real directory (a symlink, a file); creates
   * nothing. Parents that do not exist yet are fine: they will be made as real directories.
   */
  async checkParents(rel: string): Promise<void> {
    await this.dirs.check(rel).catch((err: unknown) => {
      if (errnoCode(err) !== 'ENOENT') throw err;
    });
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

  /** The temp path for `rel`: derived from it (so a resume reuses it), unless another write holds that name. */
  private claimTemp(final: string, rel: string): string {
    let temp = join(dirname(final), tempNameFor(this.tag, rel));
    while (this.tempsInFlight.has(temp)) temp = join(dirname(final), randomTempName(this.tag));
    this.tempsInFlight.add(temp);
    return temp;
  }

  private abs(rel: string): string {
    return rel === '' ? this.root : join(this.root, rel);
  }

  readonly tempNamePattern = TEMP_NAME;

  isTempName(name: string): boolean {
    return TEMP_NAME.test(name);
  }

  async removeStaleTemp(rel: string, mtimeNs: bigint): Promise<boolean> {
    const name = rel.slice(rel.lastIndexOf('/') + 1);
    if (!isStaleTemp(name, this.tag, mtimeNs, BigInt(Date.now()) * 1_000_000n)) return false;
    await this.dirs.check(rel);
    await unlink(this.abs(rel)).catch((err: unknown) => {
      if (errnoCode(err) !== 'ENOENT') throw err;
    });
    return true;
  }

  async available(): Promise<boolean> {
    try {
      return (await stat(this.root)).isDirectory(); // a root that is a symlink to a directory is fine
    } catch {
      return false;
    }
  }

  async stat(rel: string): Promise<FileEntry | undefined> {
    try {
      return entryFromStats(rel, await lstat(this.abs(rel), { bigint: true }));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
      throw err;
    }
  }

  async probe(): Promise<TargetCaps> {
    const rootBefore = await stat(this.root, { bigint: true });
    const probe = join(this.root, randomTempName(this.tag));
    const fh = await open(probe, 'wx');
    await fh.close();
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
      const upper = probe.replace(/[a-f]/g, (c) => c.toUpperCase()).replace('.ferry-tmp-', '.FERRY-TMP-');
      const caseSensitive = await lstat(upper).then(
        () => false,
        () => true,
      );
      return { timePrecisionNs: precision, caseSensitive };
    } finally {
      await unlink(probe).catch(() => undefined);
      // Leave no trace but the ctime: the probe's create and unlink moved the root's mtime.
      await setTimesNs(this.root, rootBefore.atimeNs, rootBefore.mtimeNs).catch(() => undefined);
    }
  }

  async openWrite(rel: string): Promise<WriteHandle> {
    if (parentOf(rel) === '') await this.checkDevice(rel); // the root itself: no directory to make, so no check yet
    await this.dirs.ensure(parentOf(rel));
    if (this.flushAll) this.beforeWriting();
    const final = this.abs(rel);
    const temp = this.claimTemp(final, rel);
    let fh;
    try {
      fh = await open(temp, TEMP_FLAGS, 0o644);
      if (this.options.device !== undefined && (await fh.stat({ bigint: true })).dev !== this.options.device) {
        await fh.close();
        await unlink(temp).catch(() => undefined);
        throw notOnDevice(rel);
      }
    } catch (err) {
      this.tempsInFlight.delete(temp);
      throw err;
    }
    return new LocalWriteHandle(fh, temp, final, rel, () => this.tempsInFlight.delete(temp));
  }

  async symlink(rel: string, linkTarget: string, times: FileTimes): Promise<void> {
    await this.dirs.ensure(parentOf(rel));
    if (this.flushAll) this.beforeWriting();
    const final = this.abs(rel);
    const temp = this.claimTemp(final, rel);
    try {
      await unlink(temp).catch(() => undefined);
      await symlink(linkTarget, temp);
      await setTimesNs(temp, times.atimeNs, times.mtimeNs);
      await rename(temp, final);
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      throw err;
    } finally {
      this.tempsInFlight.delete(temp);
    }
  }

  async mkdir(rel: string): Promise<void> {
    await this.dirs.ensure(rel);
  }

  async setTimes(rel: string, times: FileTimes): Promise<void> {
    await this.dirs.check(rel);
    await setTimesNs(this.abs(rel), times.atimeNs, times.mtimeNs);
  }

  async readlink(rel: string): Promise<string> {
    return readlink(this.abs(rel));
  }

  async remove(rel: string, options: { trashDir?: string } = {}): Promise<string | undefined> {
    await this.dirs.check(rel);
    const path = this.abs(rel);
    let st;
    try {
      st = await lstat(path);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    }
    if (options.trashDir) {
      const dest = join(options.trashDir, rel);
      if (st.isDirectory()) {
        await rmdir(path); // only ever empty directories: their files were trashed one by one
        await mkdir(dest, { recursive: true });
        return dest;
      }
      await mkdir(dirname(dest), { recursive: true });
      try {
        await rename(path, dest);
      } catch (err) {
        if (errnoCode(err) !== 'EXDEV') throw err;
        throw Object.assign(new Error(`the trash directory ${options.trashDir} is on another filesystem than ${this.root}`), { code: 'EXDEV' });
      }
      return dest;
    }
    if (st.isDirectory()) await rmdir(path);
    else await unlink(path);
    return undefined;
  }
}

class LocalWriteHandle implements WriteHandle {
  private closed = false;
  private end = 0;

  constructor(
    private readonly fh: FileHandle,
    private readonly temp: string,
    private readonly final: string,
    private readonly rel: string,
    private readonly done: () => void,
  ) {}

  async write(data: Uint8Array, offset: number): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.fh.write(data, done, Math.min(WRITE_MAX, data.length - done), offset + done);
      done += bytesWritten;
    }
    this.end = Math.max(this.end, offset + data.length);
  }

  async flush(): Promise<void> {
    await this.fh.datasync();
  }

  async commit(times: FileTimes): Promise<FileEntry> {
    // Flush before setting times: SMB/CIFS servers apply a deferred flush's mtime after ours.
    await this.fh.datasync();
    const written = await this.fh.stat({ bigint: true });
    if (written.size !== BigInt(this.end)) throw foreignWrite(this.rel, `holds ${written.size} bytes, ferry wrote ${this.end}`);
    this.closed = true;
    await this.fh.close();
    try {
      await rename(this.temp, this.final);
    } finally {
      this.done();
    }
    await setTimesNs(this.final, times.atimeNs, times.mtimeNs);
    const st = await lstat(this.final, { bigint: true });
    if (st.ino !== written.ino || st.dev !== written.dev) throw foreignWrite(this.rel, 'was replaced after the rename');
    return entryFromStats(this.rel, st);
  }

  async abort(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      await this.fh.close().catch(() => undefined);
    }
    await unlink(this.temp).catch(() => undefined);
    this.done();
  }
}

/** How small files written without their own fdatasync are made durable on this destination. */
interface Durability {
  /** A descriptor of the root opened before the first such write, for syncfs (see FsPool.syncfs). */
  fd: number;
  rootDev: bigint;
  /** fdatasync every file instead: syncfs does not reach FUSE daemons, nor report errors before Linux 5.8. */
  syncEach: boolean;
}

const FUSE_MAGIC = 0x65735546;

function openDurability(root: string): Durability {
  const fd = openSync(root, constants.O_RDONLY | (constants.O_DIRECTORY ?? 0));
  const rootDev = fstatSync(fd, { bigint: true }).dev;
  const [major = 0, minor = 0] = release().split('.').map((n) => Number.parseInt(n, 10));
  const oldKernel = major < 5 || (major === 5 && minor < 8);
  let fuse: boolean;
  try {
    fuse = statfsSync(root).type === FUSE_MAGIC;
  } catch {
    fuse = true; // cannot tell: be safe
  }
  return { fd, rootDev, syncEach: fuse || oldKernel };
}

/** Another process wrote into ferry's temp file or over its result: never record such a copy. */
function foreignWrite(rel: string, what: string): Error {
  return Object.assign(new Error(`the copy of ${rel} ${what} (another process writing the same destination?)`), { code: 'ECHANGED' });
}
