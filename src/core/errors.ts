/**
 * The one catalogue of ferry's errors. Each code has an exit code and a line of documentation;
 * `docs/exit-codes.md` and the README are checked against this table by a test.
 */
export const EXIT = {
  ok: 0,
  failedFiles: 1,
  usage: 2,
  unavailable: 3,
  refused: 4,
  interrupted: 130,
} as const;

/**
 * How a face's work ended, whatever the face: `failed` when some files (or a root's walk) could not
 * be done and the rest was, `refused` when a mirror delete was refused for safety, `interrupted`
 * when the user stopped it (it resumes next time).
 */
export type Outcome = 'ok' | 'failed' | 'refused' | 'interrupted';

/** The one mapping of a face's outcome to its documented exit code (a FerryError's goes by ERROR_CODES). */
export function exitCodeFor(outcome: Outcome): number {
  switch (outcome) {
    case 'ok':
      return EXIT.ok;
    case 'refused':
      return EXIT.refused;
    case 'interrupted':
      return EXIT.interrupted;
    case 'failed':
      return EXIT.failedFiles;
  }
}

export const ERROR_CODES = {
  USAGE: { exit: EXIT.usage, doc: 'a malformed command line or option value' },
  CONFIG: { exit: EXIT.usage, doc: 'a database or configuration that ferry cannot use' },
  JOB_MISMATCH: { exit: EXIT.usage, doc: 'the database belongs to another SOURCE → DESTINATION pair' },
  STORE_LOCKED: { exit: EXIT.usage, doc: 'another ferry process is using the same database' },
  SOURCE_UNAVAILABLE: { exit: EXIT.unavailable, doc: 'the source root is missing, unreadable or not a directory' },
  DEST_UNAVAILABLE: { exit: EXIT.unavailable, doc: 'the destination root cannot be created or written' },
  REFUSED: { exit: EXIT.refused, doc: 'a mirror delete was refused for safety; nothing was deleted' },
  INTERRUPTED: { exit: EXIT.interrupted, doc: 'stopped by SIGINT/SIGTERM; the next run resumes' },
  TOOL_MISSING: { exit: EXIT.unavailable, doc: 'git, git-annex or rclone is not installed (the message names its Debian package)' },
  TOOL_FAILED: { exit: EXIT.failedFiles, doc: 'git, git-annex or rclone failed; the sentence names the tool and what it was doing (--verbose adds its own message)' },
  VAULT_LOCKED: { exit: EXIT.unavailable, doc: 'another device holds the vault lock; the sentence names it and when its lease ends' },
  CONFLICT: { exit: EXIT.failedFiles, doc: 'a vault sync met a merge conflict: both versions were kept and committed, the sentence lists them' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface FerryErrorOptions {
  hint?: string;
  cause?: unknown;
  /** What a tool said itself (its stderr), shown with --verbose. */
  detail?: string;
}

/** An error meant for the user: one clear sentence, a stable code, an optional hint. */
export class FerryError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly detail?: string;

  constructor(code: ErrorCode, message: string, options: FerryErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = 'FerryError';
    this.code = code;
    this.hint = options.hint;
    this.detail = options.detail;
  }

  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }
}

/** The errno code of a Node system error, or undefined for anything else. */
export function errnoCode(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

/**
 * A per-file failure that ferry words itself: its message is already the sentence the user reads
 * ("docs/a on the way is a symlink, not a directory"), and `code` says what kind it is.
 */
export function fileError(code: string, message: string): Error & { code: string; own: true } {
  return Object.assign(new Error(message), { code, own: true as const });
}

/** A short sentence for a per-file failure, e.g. "permission denied (EACCES)". */
export function describeFileError(err: unknown): string {
  const code = errnoCode(err);
  if (err instanceof Error && (err as { own?: boolean }).own) return code ? `${err.message} (${code})` : err.message;
  const known: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENOENT: 'no such file or directory',
    ENOSPC: 'no space left on the destination',
    EDQUOT: 'disk quota exceeded',
    EROFS: 'read-only filesystem',
    EISDIR: 'is a directory',
    ENOTDIR: 'not a directory',
    ELOOP: 'too many levels of symbolic links',
    ENAMETOOLONG: 'name too long',
    EIO: 'input/output error',
    EEXIST: 'already exists',
    ENXIO: 'the drive is no longer mounted',
  };
  if (code && known[code]) return `${known[code]} (${code})`;
  if (err instanceof Error) return err.message;
  return String(err);
}
