import { Command } from 'commander';
import { FerryError } from '../core/errors.js';
import { DASHBOARD_DEFAULTS } from '../faces/dashboard/defaults.js';
import { describe } from './command-list.js';
import type { CliIo } from './watch-commands.js';

type Wrap = (json: boolean, run: () => Promise<number>) => Promise<void>;


interface DashboardFlags {
  host?: string;
  port?: string;
  stateDir?: string;
  db?: string[];
  json?: boolean;
}

function parsePort(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) > 65535) throw new FerryError('USAGE', `--port takes a port number from 0 to 65535, not "${text}".`);
  return Number(text);
}

/** `ferry dashboard`: serves the page until Ctrl-C; prints its URL (one JSON line with --json). */
export function dashboardCommand(io: CliIo, wrap: Wrap): Command {
  return new Command('dashboard')
    .description(describe('dashboard'))
    .option('--host <host>', `the address to listen on (default ${DASHBOARD_DEFAULTS.host}; any other needs a server's key: docs/dashboard.md)`)
    .option('--port <n>', `the port (0 picks a free one; default ${DASHBOARD_DEFAULTS.port})`)
    .option('--state-dir <dir>', 'where to find the jobs (default: ferry\'s state directory, $XDG_STATE_HOME/ferry)')
    .option('--db <path...>', 'more job databases to show: SQLite files, or postgres:// URLs of copy jobs')
    .option('--json', 'print the URL as one JSON line')
    .action((flags: DashboardFlags) =>
      wrap(flags.json === true, async () => {
        // Fastify and the page load only when the dashboard runs, not for `ferry dashboard --help`.
        const { startDashboard } = await import('../faces/dashboard/dashboard.js');
        const d = await startDashboard({ host: flags.host, port: parsePort(flags.port), stateDir: flags.stateDir, dbs: flags.db });
        io.out(flags.json ? `${JSON.stringify({ url: d.url, keyed: d.keyed })}\n` : `dashboard on ${d.url}${d.keyed ? ' (open it as ?api_key=KEY)' : ''}\n`);
        await io.stopped();
        await d.close();
        return 0;
      }),
    );
}
