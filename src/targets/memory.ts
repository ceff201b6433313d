import { randomUUID } from 'node:crypto';
import type { EntryKind, FileEntry } from '../core/entry.js';
import { fileError } from '../core/errors.js';
import { createHasher, type Algorithm } from '../core/hash.js';
import type { EntryAttrs, FileTimes, Target, TargetCaps, TargetListOptions, WriteHandle } from '../core/target.js';
import { badTreePath, type IdentityMatch, type ListBatch, type ReadHandle, type WholeRead } from '../core/tree.js';

/** One entry of a memory tree: a FileEntry's times, mode and owner, with its bytes or link target. */
export interface MemoryNode extends Omit<FileEntry, 'rel' | 'kind' | 'size'> {
  kind: Exclude<EntryKind, 'other'>;
  data: Uint8Array;
  link: string;
}

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const TYPE_BITS = { file: S_IFREG, dir: S_IFDIR, symlink: S_IFLNK } as const;

const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n;
const parentOf = (rel: string): string => (rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '');

/**
 * A tree held in memory, readable and writable through the same contracts as a directory: the
 * second implementation `describeTarget` runs on (test/helpers/target-suite.ts), and a stand-in
 * source or destination where a test must show the engine reaches a tree through its contract only.
 * Paths never pass through a symlink: a link where a directory must be is not a directory.
 */
export class MemoryTarget implements Target {
  readonly root: string;
  readonly reservedName = /(?!)/; // it keeps no files of its own in the tree
  /** The tree: '' is the root directory. */
  readonly nodes = new Map<string, MemoryNode>();
  /** What `remove` moved to a trash, by trash path. */
  readonly trashed = new Map<string, MemoryNode>();
  /** Bytes of writes stopped with `abort({ keep: true })`, by path. */
  private readonly partials = new Map<string, Uint8Array>();
  private planned = new Set<string>();
  private readonly umask = process.umask();
  private readonly id = randomUUID();
  /** False makes the tree unavailable, as an unmounted share is. */
  present = true;

  constructor(name = 'tree') {
    this.root = `memory:${name}`;
    this.nodes.set('', this.node('dir', 0o755));
  }

  private node(kind: MemoryNode['kind'], bits: number, times?: FileTimes): MemoryNode {
    const t = nowNs();
    return {
      kind, data: new Uint8Array(0), link: '', mtimeNs: times?.mtimeNs ?? t, atimeNs: times?.atimeNs ?? t, ctimeNs: t, birthtimeNs: t,
      mode: TYPE_BITS[kind] | (bits & 0o7777), uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0,
    };
  }

  private entry(rel: string, n: MemoryNode): FileEntry {
    return {
      rel, kind: n.kind, size: n.kind === 'file' ? BigInt(n.data.length) : n.kind === 'symlink' ? BigInt(Buffer.byteLength(n.link)) : 4096n,
      mtimeNs: n.mtimeNs, atimeNs: n.atimeNs, ctimeNs: n.ctimeNs, birthtimeNs: n.birthtimeNs, mode: n.mode, uid: n.uid, gid: n.gid,
    };
  }

  private check(): void {
    if (!this.present) throw fileError('ENXIO', `${this.root} is not there`);
  }

  /** Refuses what is not a path of the tree (core/tree.ts badTreePath). */
  private valid(rel: string): void {
    const bad = badTreePath(rel);
    if (bad) throw fileError('EINVAL', `${JSON.stringify(rel)} is not a path inside the tree: ${bad}`);
  }

  /** The directory `rel`, every component a real directory; rejects ENOENT or ENOTDIR. */
  private dir(rel: string): MemoryNode {
    this.check();
    let at = '';
    for (const part of rel === '' ? [] : rel.split('/')) {
      at = at === '' ? part : `${at}/${part}`;
      const n = this.nodes.get(at);
      if (!n) throw fileError('ENOENT', `${at} does not exist`);
      if (n.kind !== 'dir') throw Object.assign(fileError('ENOTDIR', `${at} is a ${n.kind}, not a directory`), { rel: at, kind: n.kind });
    }
    return this.nodes.get(rel)!;
  }

  private children(rel: string): string[] {
    const prefix = rel === '' ? '' : `${rel}/`;
    const out: string[] = [];
    for (const key of this.nodes.keys()) {
      if (key !== '' && key.startsWith(prefix) && !key.slice(prefix.length).includes('/')) out.push(key);
    }
    return out;
  }

  /** Makes the directories on the way to `rel` (not `rel` itself), replacing a symlink or a planned file in the way. */
  private makeParents(rel: string): void {
    this.check();
    this.valid(rel);
    if (rel === '') throw fileError('EISDIR', 'the root is a directory');
    let at = '';
    for (const part of parentOf(rel) === '' ? [] : parentOf(rel).split('/')) {
      at = at === '' ? part : `${at}/${part}`;
      const n = this.nodes.get(at);
      if (n?.kind === 'dir') continue;
      if (n && n.kind !== 'symlink' && !this.planned.has(at)) {
        throw Object.assign(fileError('ENOTDIR', `${at} is a ${n.kind}, not a directory`), { rel: at, kind: n.kind });
      }
      this.nodes.set(at, this.node('dir', 0o777 & ~this.umask)); // as LocalTarget's default parentMode
    }
  }

  /** Clears the final name `rel` for a new entry of `kind`, as LocalTarget's replace policy does. */
  private clear(rel: string, kind: MemoryNode['kind']): void {
    const n = this.nodes.get(rel);
    if (!n || n.kind === 'symlink' || (n.kind === 'file' && kind !== 'dir')) return;
    if (n.kind === kind) return;
    if (n.kind === 'dir') {
      if (this.children(rel).length > 0) throw Object.assign(fileError('EISDIR', `${rel} is a directory that is not empty`), { notEmpty: true });
      if (!this.planned.has(rel)) throw fileError('EISDIR', `${rel} is a directory`);
      this.nodes.delete(rel);
      return;
    }
    if (!this.planned.has(rel)) throw Object.assign(fileError('ENOTDIR', `${rel} is a ${n.kind}, not a directory`), { rel, kind: n.kind });
  }

  private bits(attrs: EntryAttrs | undefined, dir: boolean): number {
    const bits = attrs ? (attrs.mode & 0o777) | (dir ? 0o700 : 0) : dir ? 0o777 : 0o666;
    return bits & ~this.umask;
  }

  async available(): Promise<boolean> {
    return this.present;
  }

  async *list(options: TargetListOptions = {}): AsyncGenerator<ListBatch> {
    this.dir('');
    const exclude = options.exclude ?? [];
    const under = options.under ?? '';
    this.valid(under);
    if (under !== '') this.dir(under);
    const below = (rel: string): boolean => under === '' || rel.startsWith(`${under}/`);
    const entries: FileEntry[] = [];
    let dirs = 1;
    for (const [rel, n] of [...this.nodes].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (rel === '' || !below(rel) || exclude.some((x) => rel === x || rel.startsWith(`${x}/`))) continue;
      if (options.signal?.aborted) return;
      if (n.kind === 'dir') dirs++;
      entries.push(this.entry(rel, n));
    }
    const none = { errors: [], digests: [], kept: [], keptFiles: 0, keptBytes: 0, mounts: [] };
    yield { entries, dirs, ...none };
    yield { entries: [], dirs: 0, ...none, granularityNs: 1n };
  }

  async stat(rel: string): Promise<FileEntry | undefined> {
    this.valid(rel);
    try {
      this.dir(parentOf(rel));
    } catch (err) {
      if ((err as { code?: string }).code === 'ENXIO') throw err;
      return undefined;
    }
    const n = this.nodes.get(rel);
    return n && this.entry(rel, n);
  }

  async entries(rel: string): Promise<FileEntry[]> {
    this.valid(rel);
    this.dir(rel);
    return this.children(rel).map((k) => this.entry(k, this.nodes.get(k)!));
  }

  private file(rel: string): MemoryNode {
    this.valid(rel);
    this.dir(parentOf(rel));
    const n = this.nodes.get(rel);
    if (!n) throw fileError('ENOENT', `${rel} does not exist`);
    if (n.kind === 'symlink') throw fileError('ELOOP', `${rel} is a symlink`);
    return n;
  }

  async openRead(rel: string): Promise<ReadHandle> {
    const n = this.file(rel);
    let open = true;
    return {
      read: async (into, at, length, position) => {
        if (!open) throw fileError('EBADF', 'closed');
        if (n.kind !== 'file') throw fileError('EISDIR', `${rel} is a directory`);
        const chunk = n.data.subarray(position, position + length);
        into.set(chunk, at);
        return chunk.length;
      },
      stat: async () => this.entry(rel, n),
      close: async () => {
        open = false;
      },
    };
  }

  async readWhole(rel: string, maxSize: number, algorithm: Algorithm | null, options: { hashOnly?: boolean } = {}): Promise<WholeRead> {
    const n = this.file(rel);
    if (n.kind !== 'file') return { kind: 'changed', entry: this.entry(rel, n) };
    if (n.data.length > maxSize) return { kind: 'large' };
    let hash: string | null = null;
    if (algorithm) {
      const h = createHasher(algorithm);
      h.update(Buffer.from(n.data));
      hash = h.digest();
    }
    return { kind: 'read', data: options.hashOnly ? new Uint8Array(0) : n.data.slice(), hash, entry: this.entry(rel, n) };
  }

  async readlink(rel: string): Promise<string> {
    this.valid(rel);
    this.dir(parentOf(rel));
    const n = this.nodes.get(rel);
    if (!n) throw fileError('ENOENT', `${rel} does not exist`);
    if (n.kind !== 'symlink') throw fileError('EINVAL', `${rel} is not a symlink`);
    return n.link;
  }

  async identity(rel = ''): Promise<string | undefined> {
    this.dir(rel);
    return `${this.id}:${rel}`;
  }

  async compareIdentity(recorded: string, rel = ''): Promise<IdentityMatch> {
    return recorded === `${this.id}:${rel}` ? 'same' : recorded.startsWith(`${this.id}:`) ? 'other-directory' : 'other-filesystem';
  }

  async probe(): Promise<TargetCaps> {
    this.dir('');
    return { timePrecisionNs: 1n, caseSensitive: true, keepsModes: true };
  }

  planReplacements(entries: Array<{ rel: string }>): void {
    this.planned = new Set(entries.map((e) => e.rel));
  }

  async openWrite(rel: string, attrs?: EntryAttrs, options: { keepPartial?: boolean } = {}): Promise<WriteHandle> {
    this.makeParents(rel);
    this.clear(rel, 'file');
    const kept = options.keepPartial ? this.partials.get(rel) : undefined;
    this.partials.delete(rel);
    return new MemoryWriteHandle(this, rel, this.bits(attrs, false), kept ?? new Uint8Array(0), (data) => this.partials.set(rel, data));
  }

  /** Puts a committed file in place (MemoryWriteHandle's commit). */
  place(rel: string, data: Uint8Array, bits: number, times: FileTimes): FileEntry {
    this.makeParents(rel);
    this.clear(rel, 'file');
    const n = this.node('file', bits, times);
    n.data = data;
    this.nodes.set(rel, n);
    return this.entry(rel, n);
  }

  async writeWhole(rel: string, data: Uint8Array, times: FileTimes, attrs?: EntryAttrs): Promise<FileEntry> {
    return this.place(rel, data.slice(), this.bits(attrs, false), times);
  }

  async flushAll(): Promise<void> {
    this.check();
  }

  async partialSize(rel: string): Promise<number> {
    return this.partials.get(rel)?.length ?? 0;
  }

  async symlink(rel: string, linkTarget: string, times: FileTimes, _attrs?: EntryAttrs): Promise<void> {
    this.makeParents(rel);
    this.clear(rel, 'symlink');
    const n = this.node('symlink', 0o777, times);
    n.link = linkTarget;
    this.nodes.set(rel, n);
  }

  async mkdir(rel: string, attrs?: EntryAttrs): Promise<void> {
    if (rel === '') {
      this.dir('');
      return;
    }
    this.makeParents(rel);
    if (this.nodes.get(rel)?.kind === 'dir') return;
    this.clear(rel, 'dir');
    this.nodes.set(rel, this.node('dir', this.bits(attrs, true)));
  }

  async rename(from: string, to: string): Promise<void> {
    this.valid(from);
    this.valid(to);
    const n = this.nodes.get(from);
    if (!n) throw fileError('ENOENT', `${from} is not there`);
    if (n.kind === 'dir') throw fileError('EISDIR', `${from} is a directory`);
    if (this.nodes.has(to)) throw fileError('EEXIST', `${to} already exists`);
    await this.mkdir(parentOf(to));
    this.nodes.delete(from);
    this.nodes.set(to, n);
  }

  async setTimes(rel: string, times: FileTimes): Promise<void> {
    this.valid(rel);
    this.dir(parentOf(rel));
    const n = this.nodes.get(rel);
    if (!n) throw fileError('ENOENT', `${rel} does not exist`);
    n.atimeNs = times.atimeNs;
    n.mtimeNs = times.mtimeNs;
  }

  async remove(rel: string, options: { trashDir?: string } = {}): Promise<string | undefined> {
    this.valid(rel);
    if (rel === '') throw fileError('EINVAL', 'the root is not removed');
    try {
      this.dir(parentOf(rel));
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return undefined; // already gone with its parent
      throw err;
    }
    const n = this.nodes.get(rel);
    if (!n) return undefined;
    if (n.kind === 'dir' && this.children(rel).length > 0) throw fileError('ENOTEMPTY', `${rel} is not empty`);
    this.nodes.delete(rel);
    if (options.trashDir === undefined) return undefined;
    const to = `${options.trashDir}/${rel}`;
    this.trashed.set(to, n);
    return to;
  }

  async close(): Promise<void> {}
}

/** A file being written to a MemoryTarget: bytes in a buffer until `commit` puts them in place. */
class MemoryWriteHandle implements WriteHandle {
  private data: Uint8Array;
  private length: number;
  private done = false;
  readonly kept: number;

  constructor(
    private readonly tree: MemoryTarget,
    private readonly rel: string,
    private readonly bits: number,
    kept: Uint8Array,
    private readonly keep: (data: Uint8Array) => void,
  ) {
    this.data = new Uint8Array(Math.max(kept.length, 64 * 1024));
    this.data.set(kept);
    this.length = kept.length;
    this.kept = kept.length;
  }

  async write(data: Uint8Array, offset: number): Promise<void> {
    if (this.done) throw fileError('EBADF', 'the write was finished');
    if (offset + data.length > this.data.length) {
      const bigger = new Uint8Array(Math.max(offset + data.length, this.data.length * 2));
      bigger.set(this.data.subarray(0, this.length));
      this.data = bigger;
    }
    this.data.set(data, offset);
    this.length = Math.max(this.length, offset + data.length);
  }

  async flush(): Promise<void> {}

  async commit(times: FileTimes): Promise<FileEntry> {
    if (this.done) throw fileError('EBADF', 'the write was finished');
    this.done = true;
    return this.tree.place(this.rel, this.data.slice(0, this.length), this.bits, times);
  }

  async abort(options: { keep?: boolean } = {}): Promise<void> {
    if (this.done) return;
    this.done = true;
    if (options.keep) this.keep(this.data.slice(0, this.length));
  }

  async readKept(into: Uint8Array, offset: number): Promise<number> {
    const chunk = this.data.subarray(offset, Math.min(this.kept, offset + into.length));
    into.set(chunk);
    return chunk.length;
  }

  extend(end: number): void {
    this.length = Math.max(this.length, end);
  }
}
