import { Command } from 'commander';
import { describe } from './command-list.js';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { FerryError } from '../core/errors.js';
import { hashApiKey, newApiKey } from '../http/api-keys.js';
import { serverSettings, type ServeFlags } from '../faces/server/config.js';
import { startServer } from '../faces/server/serve.js';
import { openServerStore } from '../store/open.js';
import { isPgUrl } from '../store/url.js';
import type { CliIo } from './watch-commands.js';

type Wrap = (json: boolean, run: () => Promise<number>) => Promise<void>;

/** A subcommand's options with those given before it (`serve --db X keys list` and `serve keys list --db X` alike). */
const all = <T>(cmd: Command): T => cmd.optsWithGlobals<T & object>();

const serverOptions = (c: Command): Command =>
  c
    .option('--config <file>', 'a YAML file with the seed\'s ServerConfig fields (host, port, sync_directory, max_file_size, allowed_extensions) and db')
    .option('--db <path|url>', 'the server database: a SQLite file or a postgres:// URL (default: in the state directory)')
    .option('--dir <dir>', 'the sync directory (default ./sync_data)');

/** `ferry serve` and `ferry serve keys add|list|revoke`. */
export function serveCommands(io: CliIo, wrap: Wrap, version: string): Command {
  const serve = serverOptions(new Command('serve'))
    .description(describe('serve'))
    .option('--host <host>', 'the address to listen on (0.0.0.0 for every interface)', undefined)
    .option('--port <n>', 'the port (0 picks a free one; default 8000)')
    .option('--max-file-size <size>', 'the largest file taken, in bytes or with K/M/G (default 100M)')
    .option('--allowed-extensions <list>', 'only files ending in these, e.g. .txt,.md (default: all)')
    .option('--tls-cert <file>', 'serve HTTPS with this certificate (PEM)')
    .option('--tls-key <file>', 'and this key (PEM)')
    .option('--quiet', 'no request log on standard error')
    .action((flags: ServeFlags & { quiet?: boolean; tlsCert?: string; tlsKey?: string }) =>
      wrap(false, async () => {
        const s = serverSettings(flags);
        if (!isPgUrl(s.db)) mkdirSync(dirname(s.db), { recursive: true });
        const server = await startServer({ ...s, log: flags.quiet ? false : process.stderr, version });
        io.out(`listening on ${server.url}\n`);
        await io.stopped();
        await server.close();
        return 0;
      }),
    );
  const keys = new Command('keys').description('Manage the API keys a server takes (stored hashed; a running server sees a change at once).');
  const withStore = async <T>(flags: ServeFlags, use: (store: Awaited<ReturnType<typeof openServerStore>>) => Promise<T>): Promise<T> => {
    const s = serverSettings(flags);
    if (!isPgUrl(s.db)) mkdirSync(dirname(s.db), { recursive: true });
    const store = await openServerStore(s.db, { lock: false });
    try {
      return await use(store);
    } finally {
      await store.close();
    }
  };
  keys.addCommand(
    serverOptions(new Command('add'))
      .description('Add a key and print it (once: only its hash is kept).')
      .requiredOption('--name <name>', 'what the key is for, e.g. laptop')
      .option('--json', 'print {"name", "key"}')
      .action((_: unknown, cmd: Command) => {
        const flags = all<ServeFlags & { name: string; json?: boolean }>(cmd);
        return wrap(flags.json === true, () =>
          withStore(flags, async (store) => {
            if (!/^[\w.@-]{1,64}$/.test(flags.name)) throw new FerryError('USAGE', `A key's name is 1 to 64 letters, digits, ".", "_", "-" or "@", not "${flags.name}".`);
            const key = newApiKey();
            await store.addKey(flags.name, hashApiKey(key));
            io.out(flags.json ? `${JSON.stringify({ name: flags.name, key })}\n` : `${key}\n`);
            if (!flags.json) io.err(`added key "${flags.name}"; it is shown only this once\n`);
            return 0;
          }),
        );
      }),
  );
  keys.addCommand(
    serverOptions(new Command('list'))
      .description('List the keys by name (the keys themselves are not kept).')
      .option('--json', 'one JSON object per line')
      .action((_: unknown, cmd: Command) => {
        const flags = all<ServeFlags & { json?: boolean }>(cmd);
        return wrap(flags.json === true, () =>
          withStore(flags, async (store) => {
            const rows = await store.listKeys();
            for (const k of rows) {
              const created = new Date(k.createdMs).toISOString();
              io.out(flags.json ? `${JSON.stringify({ name: k.name, created })}\n` : `${k.name}\t${created}\n`);
            }
            if (!flags.json && rows.length === 0) io.out('no keys: the server takes requests without one\n');
            return 0;
          }),
        );
      }),
  );
  keys.addCommand(
    serverOptions(new Command('revoke'))
      .description('Revoke a key by name (a running server refuses it at once).')
      .argument('<name>')
      .action((name: string, _: unknown, cmd: Command) => {
        const flags = all<ServeFlags>(cmd);
        return wrap(false, () =>
          withStore(flags, async (store) => {
            if (!(await store.revokeKey(name))) throw new FerryError('USAGE', `There is no key named "${name}".`);
            io.out(`revoked key "${name}"\n`);
            return 0;
          }),
        );
      }),
  );
  serve.addCommand(keys);
  return serve;
}
