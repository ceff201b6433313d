import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, readlink, rename, rm, rmdir, symlink, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { entryFromStats, type FileEntry } from '../core/entry.js';
import { errnoCode } from '../core/errors.js';
import type { FileTimes, Target, TargetCaps, WriteHandle } from '../core/target.js';
import { setTimesNs } from './native-times.js';

const TEMP_NAME = /^\.ferry-tmp-[0-9a-f]{16}$/;

/**
 * The temp name of `rel` is derived from its path, so a run that resumes after a crash overwrites
 * (then renames) the temp file the crashed run left, instead of leaving it behind. A full scan
 * removes any other name of this shape.
 */
function tempNameFor(rel: string): string {
  return `.ferry-tmp-${createHash('sha256').update(rel).digest('hex').slice(0, 16)}`;
}

function randomTempName(): string {
  return `.ferry-tmp-${randomBytes(8).toString('hex')}`;
}

const WRITE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | (constants.O_NOFOLLOW ?? 0);

/** A directory on a mounted filesystem: a local folder, an NFS or SMB share, a USB drive. */
export class LocalTarget implements Target {
  constructor(readonly root: string) {}

  private abs(rel: string): string {
    return rel === '' ? this.root : join(this.root, rel);
  }

  isTempName(name: string): boolean {
    return TEMP_NAME.test(name);
  }

  async available(): Promise<boolean> {
    try {
      return (await lstat(this.root)).isDirectory();
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
    const rootBefore = await lstat(this.root, { bigint: true });
    const probe = join(this.root, randomTempName());
    const fh = await open(probe, 'wx');
    await fh.close();
    try {
      // An mtime with a digit in every decimal place: what comes back tells the stored precision.
      const wanted = 1_600_000_000_123_456_789n;
      await setTimesNs(probe, wanted, wanted);
      const got = (await lstat(probe, { bigint: true })).mtimeNs;
      const diff = wanted > got ? wanted - got : got - wanted;
      let precision = 1n;
      while (precision < 2_000_000_000n && diff >= precision) precision *= 10n;
      if (precision > 1_000_000_000n) precision = 2_000_000_000n; // FAT keeps even seconds
      let caseSensitive = true;
      try {
        await lstat(probe.toUpperCase().replace('.FERRY-TMP-', '.ferry-tmp-'));
        caseSensitive = false;
      } catch {
        caseSensitive = true;
      }
      return { timePrecisionNs: precision, caseSensitive };
    } finally {
      await unlink(probe).catch(() => undefined);
      // Leave no trace but the ctime: the probe's create and unlink moved the root's mtime.
      await setTimesNs(this.root, rootBefore.atimeNs, rootBefore.mtimeNs).catch(() => undefined);
    }
  }

  async openWrite(rel: string): Promise<WriteHandle> {
    const final = this.abs(rel);
    const dir = dirname(final);
    const temp = join(dir, tempNameFor(rel));
    let fh: FileHandle;
    try {
      fh = await open(temp, WRITE_FLAGS, 0o644);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
      await mkdir(dir, { recursive: true });
      fh = await open(temp, WRITE_FLAGS, 0o644);
    }
    return new LocalWriteHandle(fh, temp, final, rel);
  }

  async symlink(rel: string, linkTarget: string, times: FileTimes): Promise<void> {
    const final = this.abs(rel);
    await mkdir(dirname(final), { recursive: true });
    const temp = join(dirname(final), tempNameFor(rel));
    await unlink(temp).catch(() => undefined);
    await symlink(linkTarget, temp);
    try {
      await setTimesNs(temp, times.atimeNs, times.mtimeNs);
      await rename(temp, final);
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      throw err;
    }
  }

  async mkdir(rel: string): Promise<void> {
    await mkdir(this.abs(rel), { recursive: true });
  }

  async setTimes(rel: string, times: FileTimes): Promise<void> {
    await setTimesNs(this.abs(rel), times.atimeNs, times.mtimeNs);
  }

  async readlink(rel: string): Promise<string> {
    return readlink(this.abs(rel));
  }

  async remove(rel: string, options: { trashDir?: string } = {}): Promise<string | undefined> {
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
      await mkdir(dirname(dest), { recursive: true });
      if (st.isDirectory()) {
        await rmdir(path); // only ever empty directories: their files were trashed one by one
        await mkdir(dest, { recursive: true });
        return dest;
      }
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

  /** Removes a stale temp file left by an interrupted run; refuses any other name. */
  async removeTemp(rel: string): Promise<void> {
    const name = rel.slice(rel.lastIndexOf('/') + 1);
    if (!this.isTempName(name)) throw new Error(`refusing to remove ${rel}: not a ferry temp file`);
    await rm(this.abs(rel), { force: true });
  }
}

class LocalWriteHandle implements WriteHandle {
  private closed = false;

  constructor(
    private readonly fh: FileHandle,
    private readonly temp: string,
    private readonly final: string,
    private readonly rel: string,
  ) {}

  async write(data: Uint8Array, offset: number): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.fh.write(data, done, data.length - done, offset + done);
      done += bytesWritten;
    }
  }

  async flush(): Promise<void> {
    await this.fh.datasync();
  }

  async commit(times: FileTimes): Promise<FileEntry> {
    // Flush before setting times: SMB/CIFS servers apply a deferred flush's mtime after ours.
    await this.fh.datasync();
    this.closed = true;
    await this.fh.close();
    await rename(this.temp, this.final);
    await setTimesNs(this.final, times.atimeNs, times.mtimeNs);
    const st = await lstat(this.final, { bigint: true });
    return entryFromStats(this.rel, st);
  }

  async abort(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      await this.fh.close().catch(() => undefined);
    }
    await unlink(this.temp).catch(() => undefined);
  }
}
