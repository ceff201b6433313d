import { fileTypeFromBuffer } from 'file-type';
import { basename, dirname } from 'node:path';
import type { Tree } from '../../core/tree.js';
import { LocalTree } from '../../targets/local-tree.js';
import type { RouteRule } from './config.js';
import { builtinCategory, REFINES, TEXT_BY_EXTENSION } from './mime-tables.js';

/** What the bytes of a file say it is. */
export interface Detection {
  mime: string;
  /** How the MIME type was found: magic bytes, magic bytes refined by the extension, a text check, or nothing. */
  by: 'magic' | 'magic+extension' | 'text' | 'text+extension' | 'binary' | 'empty';
  /** What the magic bytes alone said, when they said anything. */
  magic?: { mime: string; ext: string };
  /** The file name's extension, lower-case, without the dot ("" when none). */
  extension: string;
}

export interface RuleCheck {
  index: number;
  category: string;
  matched: boolean;
  /** One line per condition: what was asked, what the file has. */
  reasons: string[];
}

export interface Classification {
  category: string;
  detection: Detection;
  /** The rule that matched (0-based), or null when the built-in table decided. */
  rule: number | null;
  checks: RuleCheck[];
}

/** Magic bytes are looked for in the first 64 KiB (a ZIP's entry names, an MP3 after its ID3 tag); text in the first 8 KiB. */
const HEAD = 64 * 1024;
const TEXT_SAMPLE = 8192;

export function extensionOf(name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot <= 0 ? '' : base.slice(dot + 1).toLowerCase();
}

/**
 * Whether a file's first bytes read as text: no NUL byte and valid UTF-8 (a sequence cut at the end
 * of the sample is allowed), or a UTF-16 byte-order mark, with few control characters.
 */
export function looksLikeText(head: Uint8Array): boolean {
  if (head.length >= 2 && ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff))) return true;
  if (head.includes(0)) return false;
  let end = head.length;
  // Drop a multi-byte sequence the sample cut in two (at most 3 trailing bytes).
  for (let i = Math.max(0, head.length - 3); i < head.length; i++) {
    const b = head[i]!;
    if (b >= 0xc0) {
      const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
      if (i + need > head.length) end = i;
    }
  }
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, end));
  } catch {
    return false;
  }
  let control = 0;
  for (let i = 0; i < end; i++) {
    const b = head[i]!;
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c && b !== 0x1b && b !== 0x08) control++;
  }
  return control <= end / 100;
}

async function readHead(tree: Tree, rel: string): Promise<Buffer> {
  const fh = await tree.openRead(rel);
  try {
    const buf = Buffer.allocUnsafe(HEAD);
    const bytesRead = await fh.read(buf, 0, HEAD, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/**
 * Names a file by its content: magic bytes first, then a text check; the extension only breaks ties.
 * One read of the head, as the copy reads (never through a link; the source is not touched).
 */
export async function detectIn(tree: Tree, rel: string): Promise<Detection> {
  return detectBytes(await readHead(tree, rel), rel);
}

/** `detectIn` for a file named by its path. */
export function detect(path: string): Promise<Detection> {
  return detectIn(new LocalTree(dirname(path)), basename(path));
}

/** `detect` on bytes already read: the first HEAD bytes of the file (or all of it) and its name. */
export async function detectBytes(bytes: Uint8Array, name: string): Promise<Detection> {
  const extension = extensionOf(name);
  const head = bytes.subarray(0, HEAD);
  const magic = await fileTypeFromBuffer(head);
  if (magic) {
    const refined = REFINES[magic.mime]?.[extension];
    if (refined) return { mime: refined, by: 'magic+extension', magic: { mime: magic.mime, ext: magic.ext }, extension };
    return { mime: magic.mime, by: 'magic', magic: { mime: magic.mime, ext: magic.ext }, extension };
  }
  if (head.length === 0) return { mime: 'inode/x-empty', by: 'empty', extension };
  if (looksLikeText(head.subarray(0, TEXT_SAMPLE))) {
    const byExt = TEXT_BY_EXTENSION[extension];
    return byExt ? { mime: byExt, by: 'text+extension', extension } : { mime: 'text/plain', by: 'text', extension };
  }
  return { mime: 'application/octet-stream', by: 'binary', extension };
}

function globMatch(glob: string, value: string): boolean {
  const re = new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i');
  return re.test(value);
}

function checkRule(rule: RouteRule, index: number, d: Detection, name: string, size: number): RuleCheck {
  const reasons: string[] = [];
  let matched = true;
  if (rule.mime.length > 0) {
    const hit = rule.mime.find((g) => globMatch(g, d.mime));
    matched &&= hit !== undefined;
    reasons.push(hit ? `type ${d.mime} matches ${hit}` : `type ${d.mime} matches none of ${rule.mime.join(', ')}`);
  }
  if (rule.extensions.length > 0) {
    const lower = name.toLowerCase();
    const hit = rule.extensions.find((e) => lower.endsWith(`.${e}`));
    matched &&= hit !== undefined;
    reasons.push(hit ? `extension .${hit} is listed` : `extension ${d.extension ? `.${d.extension}` : '(none)'} is not one of ${rule.extensions.map((e) => `.${e}`).join(', ')}`);
  }
  if (rule.minSize !== undefined) {
    matched &&= size >= rule.minSize;
    reasons.push(`size ${size} ${size >= rule.minSize ? '≥' : '<'} min_size ${rule.minSize}`);
  }
  if (rule.maxSize !== undefined) {
    matched &&= size <= rule.maxSize;
    reasons.push(`size ${size} ${size <= rule.maxSize ? '≤' : '>'} max_size ${rule.maxSize}`);
  }
  return { index, category: rule.category, matched, reasons };
}

/** The first rule that matches wins; without one, the built-in table of MIME types decides. */
export function categorize(d: Detection, name: string, size: number, rules: readonly RouteRule[]): Classification {
  const checks: RuleCheck[] = [];
  for (const [i, rule] of rules.entries()) {
    const c = checkRule(rule, i, d, name, size);
    checks.push(c);
    if (c.matched) return { category: rule.category, detection: d, rule: i, checks };
  }
  return { category: builtinCategory(d.mime), detection: d, rule: null, checks };
}

export async function classify(path: string, size: number, rules: readonly RouteRule[]): Promise<Classification> {
  return categorize(await detect(path), path, size, rules);
}
