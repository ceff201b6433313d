/**
 * ferry's top-level commands, as `ferry --help` lists them: the name, the term the listing shows
 * (as commander would print it from the command itself; test/startup.test.ts checks they agree) and
 * the description, which the command's own file uses too. main.ts loads a command's code only when
 * that command runs: `ferry --help` and `ferry --version` load none of it.
 */
export interface CommandEntry {
  name: string;
  term: string;
  description: string;
  /** The file that declares it (several commands may share one). */
  module: 'copy' | 'watch' | 'route' | 'serve' | 'client' | 'vault' | 'dashboard';
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'copy',
    term: 'copy [options] [source] [destination]',
    description: 'Copy SOURCE into DESTINATION: resumable, checksummed, rate-limited (an interrupted run resumes from its backlog). ' +
      'With --db postgres://…, any number of processes on one or several machines share the job as its workers.',
    module: 'copy',
  },
  {
    name: 'watch',
    term: 'watch [options] [roots...]',
    description: 'Keep an index of every file under each ROOT current in real time (roots already in the index are watched too).',
    module: 'watch',
  },
  { name: 'roots', term: 'roots', description: 'The roots in the index: add, remove, list.', module: 'watch' },
  { name: 'index', term: 'index', description: 'Read the index: status, files, history; reconcile a root now.', module: 'watch' },
  { name: 'route', term: 'route', description: 'Classify files by content and deliver each category to its own removable drive.', module: 'route' },
  { name: 'serve', term: 'serve [options]', description: 'Serve one tree to many ferry clients (HTTP + WebSocket, docs/serve.md).', module: 'serve' },
  { name: 'client', term: 'client', description: 'Keep a local folder in sync with a ferry server, both ways (docs/serve.md).', module: 'client' },
  { name: 'vault', term: 'vault', description: 'Versioned sync that orchestrates git, git-annex and rclone (docs/vault.md).', module: 'vault' },
  { name: 'dashboard', term: 'dashboard [options]', description: 'One web page that shows every job of every face, live (docs/dashboard.md).', module: 'dashboard' },
];

/** The description of a top-level command, for the file that declares it. */
export function describe(name: string): string {
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) throw new Error(`no top-level command ${name}`);
  return entry.description;
}
