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
