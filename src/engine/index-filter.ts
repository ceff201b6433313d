import ignore from 'ignore';

/**
 * Which paths an index leaves out (seed 003 "File Filtering"): hidden files and directories (a
 * name starting with "."), temporary files (ending in "~" or ".tmp"), system files (.DS_Store,
 * Thumbs.db) and backups (.bak, .swp); plus gitignore-style `patterns` from the configuration.
 */
export function indexFilter(patterns: readonly string[] = []): (rel: string) => boolean {
  const why = filterReason(patterns);
  return (rel) => why(rel) === undefined;
}

/** The same filter, saying why a path is left out (undefined: it is kept). */
export function filterReason(patterns: readonly string[] = [], patternsName = 'an ignore pattern'): (rel: string) => string | undefined {
  const extra = ignore().add([...patterns]);
  return (rel) => {
    for (const name of rel.split('/')) {
      if (name.startsWith('.')) return `a hidden ${name === rel.slice(rel.lastIndexOf('/') + 1) ? 'file' : 'folder on its way'} (a name starting with ".")`;
      if (name.endsWith('~') || /\.(tmp|bak|swp)$/i.test(name)) return 'a temporary or backup file (~, .tmp, .bak, .swp)';
      if (name === 'Thumbs.db') return 'a system file (Thumbs.db)';
    }
    return extra.ignores(rel) ? `left out by ${patternsName}` : undefined;
  };
}
