/** The categories every configuration has; rules may add more. */
export const BUILTIN_CATEGORIES = ['images', 'videos', 'audio', 'documents', 'archives', 'other'] as const;

const DOCUMENTS = new Set([
  'application/pdf', 'application/rtf', 'application/msword', 'application/vnd.ms-excel', 'application/vnd.ms-powerpoint',
  'application/epub+zip', 'application/json', 'application/xml', 'application/x-tex', 'application/yaml', 'application/toml',
  'application/x-subrip', 'message/rfc822', 'application/vnd.comicbook+zip', 'application/x-mobipocket-ebook',
]);
const ARCHIVES = new Set([
  'application/zip', 'application/x-tar', 'application/gzip', 'application/x-bzip2', 'application/x-xz', 'application/x-7z-compressed',
  'application/x-rar-compressed', 'application/vnd.rar', 'application/zstd', 'application/x-lzip', 'application/x-compress',
  'application/x-cpio', 'application/x-iso9660-image', 'application/x-apple-diskimage', 'application/x-lzh-compressed',
  'application/x-lz4', 'application/x-arj', 'application/x-ace-compressed', 'application/x-unix-archive', 'application/x-brotli',
]);

/** The built-in category of a MIME type. */
export function builtinCategory(mime: string): (typeof BUILTIN_CATEGORIES)[number] {
  if (mime.startsWith('image/')) return 'images';
  if (mime.startsWith('video/')) return 'videos';
  if (mime.startsWith('audio/')) return 'audio';
  if (mime.startsWith('text/') || DOCUMENTS.has(mime)) return 'documents';
  if (mime.startsWith('application/vnd.openxmlformats-officedocument.') || mime.startsWith('application/vnd.oasis.opendocument.')) return 'documents';
  if (ARCHIVES.has(mime)) return 'archives';
  return 'other';
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
