import ignore from 'ignore';

/**
 * Which paths an index leaves out (seed 003 "File Filtering"): hidden files and directories (a
 * name starting with "."), temporary files (ending in "~" or ".tmp"), system files (.DS_Store,
 * Thumbs.db) and backups (.bak, .swp); plus gitignore-style `patterns` from the configuration.
 */
export function indexFilter(patterns: readonly string[] = []): (rel: string) => boolean {
  const extra = ignore().add([...patterns]);
  return (rel: string): boolean => {
    for (const name of rel.split('/')) {
      if (name.startsWith('.') || name.endsWith('~') || name === 'Thumbs.db') return false;
      if (/\.(tmp|bak|swp)$/i.test(name)) return false;
    }
    return !extra.ignores(rel);
  };
}
