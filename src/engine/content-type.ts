import { fileTypeFromBuffer } from 'file-type';
import { basename, dirname } from 'node:path';
import type { Tree } from '../core/tree.js';
import { LocalTree } from '../targets/local-tree.js';

// What a file is, by its content: the one detector of the faces that decide by type (route's
// categories, the vault's tools). Magic bytes first, a text check next, the extension a tie-break.

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

/** Text formats magic bytes cannot name: for a file that reads as text, the extension picks one. */
export const TEXT_BY_EXTENSION: Record<string, string> = {
  txt: 'text/plain', text: 'text/plain', log: 'text/plain', md: 'text/markdown', markdown: 'text/markdown',
  csv: 'text/csv', tsv: 'text/tab-separated-values', html: 'text/html', htm: 'text/html', css: 'text/css',
  js: 'text/javascript', mjs: 'text/javascript', json: 'application/json', xml: 'application/xml', svg: 'image/svg+xml',
  yaml: 'application/yaml', yml: 'application/yaml', toml: 'application/toml', ini: 'text/plain', tex: 'application/x-tex',
  srt: 'application/x-subrip', vtt: 'text/vtt', ics: 'text/calendar', vcf: 'text/vcard', eml: 'message/rfc822', rtf: 'application/rtf',
  py: 'text/x-python', sh: 'text/x-shellscript', c: 'text/x-c', h: 'text/x-c', ts: 'text/plain',
};

/**
 * Where magic bytes name only a container (a ZIP, an OLE compound file, an Ogg or Matroska stream),
 * the extension may say which kind of it the file is: the extension as a tie-break, never alone.
 */
export const REFINES: Record<string, Record<string, string>> = {
  'application/zip': {
    cbz: 'application/vnd.comicbook+zip', epub: 'application/epub+zip',
    docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
    odt: 'application/vnd.oasis.opendocument.text',
  },
  'application/x-cfb': { doc: 'application/msword', xls: 'application/vnd.ms-excel', ppt: 'application/vnd.ms-powerpoint', msi: 'application/x-msi' },
  'application/xml': { svg: 'image/svg+xml' },
  'audio/ogg': { ogv: 'video/ogg' },
  'application/ogg': { ogv: 'video/ogg', oga: 'audio/ogg', ogg: 'audio/ogg' },
  'video/webm': { weba: 'audio/webm' },
  'video/x-matroska': { mka: 'audio/x-matroska' },
};

/** A glob with `*` against a MIME type (or a name), ignoring case: "image/*", "*.jpg". */
export function globMatch(glob: string, value: string): boolean {
  const re = new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i');
  return re.test(value);
}
