import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { entryFromStats, type FileEntry } from '../core/entry.js';
import { errnoCode } from '../core/errors.js';
import type { Algorithm } from '../core/hash.js';
import type { IdentityMatch, ListBatch, ListOptions, ReadHandle, Tree, WholeRead } from '../core/tree.js';
import { walkTree } from '../io/walk.js';
import type { Place } from '../io/beneath.js';
import { closeFd, readAt, statFd } from '../io/fd.js';
import { onNetworkFs } from '../io/fs-kind.js';
import { fsPool, widenForNetwork } from '../io/fs-pool.js';
import { compareIdentity, identify, parseIdentity } from '../io/fs-identity.js';
import { readMountTable } from '../io/mounts.js';

/**
 * A directory on a mounted filesystem, read: a copy's source, a watched root. Every read goes
 * through the I/O threads below the root (io/beneath-ops.ts), each directory on the way opened
 * without following links; the root itself is the user's path (symlinks in it are the user's).
 */
export class LocalTree implements Tree {
  constructor(readonly root: string) {
    // A share: more I/O threads, each waiting out a round trip (see fs-pool.ts).
    void onNetworkFs(root).then((remote) => remote && widenForNetwork());
  }

  /** The root as the I/O threads reach it (a Target pins it to its device and inode). */
  protected place(): Promise<Place> {
    return Promise.resolve({ root: this.root, pinDev: -1n, pinIno: -1n });
  }

  async available(): Promise<boolean> {
    try {
      return (await stat(this.root)).isDirectory(); // a root that is a symlink to a directory is fine
    } catch {
      return false;
    }
  }

  list(options: ListOptions = {}): AsyncIterable<ListBatch> {
    return this.walk(options);
  }

  /** The walker over the whole tree, or below `under` (its entries' paths then made paths of the tree). */
  protected async *walk(options: ListOptions): AsyncGenerator<ListBatch> {
    const under = options.under ?? '';
    if (under === '') {
      yield* walkTree(this.root, options);
      return;
    }
    const inTree = (rel: string): string => (rel === '' ? under : `${under}/${rel}`);
    const keyInTree = (key: string): string => `${under}/${key}`; // '' (its root) becomes `under/`
    for await (const b of walkTree(join(this.root, under), options)) {
      yield {
        ...b, entries: b.entries.map((e) => ({ ...e, rel: inTree(e.rel) })), errors: b.errors.map((e) => ({ ...e, rel: inTree(e.rel) })),
        digests: b.digests.map(([d, digest]) => [keyInTree(d), digest]), kept: b.kept.map(keyInTree), mounts: b.mounts.map(inTree),
      };
    }
  }

  async stat(rel: string): Promise<FileEntry | undefined> {
    if (rel === '') {
      // The root by its path, as the user gave it (a root that is a symlink to a directory is fine).
      const st = await stat(this.root, { bigint: true }).catch((err: unknown) => {
        if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
        throw err;
      });
      return st && entryFromStats('', st);
    }
    return (await fsPool().call('stat', { place: await this.place(), rel })) ?? undefined;
  }

  async entries(rel: string): Promise<FileEntry[]> {
    return fsPool().call('entries', { place: await this.place(), rel });
  }

  async openRead(rel: string): Promise<ReadHandle> {
    const fd = await fsPool().call('openSource', { root: this.root, rel });
    return {
      read: (into, at, length, position) => readAt(fd, into, at, length, position),
      stat: async () => entryFromStats(rel, await statFd(fd)),
      close: () => closeFd(fd),
    };
  }

  readWhole(rel: string, maxSize: number, algorithm: Algorithm | null, options: { hashOnly?: boolean } = {}): Promise<WholeRead> {
    return fsPool().call('read', { root: this.root, rel, algorithm, maxSize, hashOnly: options.hashOnly });
  }

  readlink(rel: string): Promise<string> {
    return fsPool().call('readlink', { root: this.root, rel });
  }

  async identity(rel = ''): Promise<string | undefined> {
    return JSON.stringify(await identify(this.at(rel), readMountTable()));
  }

  /**
   * `recorded` is an identity this tree gave (io/fs-identity.ts), or one of a job that kept only a
   * device and inode (`{"dev":…,"ino":…}` with the rest empty): then only those are compared.
   */
  async compareIdentity(recorded: string, rel = ''): Promise<IdentityMatch> {
    const was = parseIdentity(recorded);
    if (!was) return 'other-directory';
    return compareIdentity(was, await identify(this.at(rel), readMountTable()));
  }

  private at(rel: string): string {
    return rel === '' ? this.root : join(this.root, rel);
  }
}
