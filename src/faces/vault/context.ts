import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { errnoCode, FerryError } from '../../core/errors.js';
import { detectBytes } from '../../engine/content-type.js';
import { LocalTree } from '../../targets/local-tree.js';
import type { ToolRule, VaultConfig } from './config.js';
import { decide, type Decision, type DecisionContext } from './decide.js';
import { gitTop, toolEnv, type Tools } from './vault.js';

const HEAD = 64 * 1024;
const SCRIPT_TYPES = /^text\/(x-shellscript|x-python|javascript|x-perl|x-ruby)$/;

/** What a decision needs besides the file: the vault's settings (or the defaults when there is no vault). */
export interface DecisionSettings {
  managed?: string;
  device: string;
  config: VaultConfig;
  rules: readonly ToolRule[];
  home?: string;
}

export interface Decided {
  path: string;
  size: number;
  mime: string;
  decision: Decision;
  repo?: DecisionContext['repo'];
}

/**
 * Finds the git repository of each directory once (a directory of a thousand files asks git once),
 * and which files its .gitignore leaves out: an ignored file is not part of that repository, so it
 * is decided as a file outside one.
 */
export class RepoFinder {
  private readonly tops = new Map<string, Promise<string | undefined>>();
  private readonly ignored = new Set<string>();
  constructor(private readonly t: Tools) {}
  /**
   * The repository `dir` is in. Found the way git finds it, by the nearest `.git` above (a
   * directory, or a file for a worktree or submodule), then confirmed by git once per repository.
   */
  top(dir: string): Promise<string | undefined> {
    let p = this.tops.get(dir);
    if (!p) {
      const parent = dirname(dir);
      if (existsSync(join(dir, '.git'))) p = gitTop(this.t, dir);
      else if (parent === dir || basename(dir) === '.git') p = Promise.resolve(undefined);
      else p = this.top(parent);
      this.tops.set(dir, p);
    }
    return p;
  }
  /** Asks each repository once which of these files it ignores (`git check-ignore --stdin`). */
  async prefetch(paths: readonly string[]): Promise<void> {
    const byTop = new Map<string, string[]>();
    for (const p of paths) {
      const top = await this.top(dirname(p));
      if (!top) continue;
      const list = byTop.get(top) ?? [];
      list.push(relative(top, p).split(sep).join('/'));
      byTop.set(top, list);
    }
    for (const [top, rels] of byTop) {
      // check-ignore takes path names, and refuses the literal-pathspec setting the vault's git runs with.
      const env = { ...toolEnv(), GIT_LITERAL_PATHSPECS: '0' };
      const r = await this.t.run('git', ['check-ignore', '--stdin', '-z'], { cwd: top, env, what: 'read the repository\'s ignore rules', input: rels.join('\0'), ok: [1] });
      for (const rel of r.stdout.split('\0')) if (rel) this.ignored.add(resolve(top, rel));
    }
  }
  isIgnored(path: string): boolean {
    return this.ignored.has(path);
  }
}

/**
 * The file's first bytes, size and mode, never through a symlink: a file of at most HEAD bytes (most
 * of them) in one call on the engine's I/O threads, a larger one by its head.
 */
async function readHead(path: string): Promise<{ head: Buffer; size: number; mode: number }> {
  const whole = await new LocalTree(dirname(path)).readWhole(basename(path), HEAD, null);
  if (whole.kind === 'read') return { head: Buffer.from(whole.data.buffer, whole.data.byteOffset, whole.data.byteLength), size: Number(whole.entry.size), mode: whole.entry.mode };
  if (whole.kind === 'changed' && whole.entry.kind !== 'file') {
    throw Object.assign(new Error(`${path} is not a regular file`), { code: whole.entry.kind === 'dir' ? 'EISDIR' : whole.entry.kind === 'symlink' ? 'ELOOP' : 'ENOTFILE' });
  }
  return readHeadOf(path);
}

/** A larger file's head, through the same tree (never through a link). */
async function readHeadOf(path: string): Promise<{ head: Buffer; size: number; mode: number }> {
  const fh = await new LocalTree(dirname(path)).openRead(basename(path));
  try {
    const st = await fh.stat();
    const head = Buffer.allocUnsafe(Math.min(HEAD, Number(st.size)));
    const n = head.length ? await fh.read(head, 0, head.length, 0) : 0;
    return { head: head.subarray(0, n), size: Number(st.size), mode: st.mode };
  } finally {
    await fh.close();
  }
}

/**
 * Gathers a file's context (its size, its type by content, whether it is a script, the repository
 * it is in) and decides. `addedAs`: its path from the parent of a directory being added.
 */
export async function decideFile(path: string, s: DecisionSettings, repos: RepoFinder, addedAs?: string): Promise<Decided> {
  const abs = resolve(path);
  let head: Awaited<ReturnType<typeof readHead>>;
  try {
    head = await readHead(abs);
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT') throw new FerryError('USAGE', `${path} does not exist.`);
    if (code === 'ELOOP') throw new FerryError('USAGE', `${path} is a symbolic link; the vault keeps files (add what it points to).`);
    if (code === 'EISDIR') throw new FerryError('USAGE', `${path} is a directory.`);
    if (code === 'ENOTFILE') throw new FerryError('USAGE', `${path} is not a regular file (a device, a socket or a pipe); the vault keeps files.`);
    throw new FerryError('USAGE', `${path} cannot be read: ${(e as Error).message}.`);
  }
  const detection = await detectBytes(head.head, abs);
  const script = SCRIPT_TYPES.test(detection.mime) || (head.head[0] === 0x23 && head.head[1] === 0x21) || ((head.mode & 0o111) !== 0 && detection.mime.startsWith('text/'));
  const top = repos.isIgnored(abs) ? undefined : await repos.top(dirname(abs));
  const repo = top ? { root: top, rel: relative(top, abs).split(sep).join('/'), managed: s.managed !== undefined && resolve(top) === resolve(s.managed) } : undefined;
  const ctx: DecisionContext = {
    path: abs,
    size: head.size,
    mime: detection.mime,
    script,
    home: s.home ?? homedir(),
    device: s.device,
    repo,
    addedAs: repo ? undefined : addedAs,
    config: s.config,
    rules: s.rules,
  };
  return { path: abs, size: head.size, mime: detection.mime, decision: decide(ctx), repo };
}
