import { Command } from 'commander';
import { describe } from './command-list.js';
import { clientStatus, runClient, syncOnce } from '../faces/client/client.js';
import type { ClientEvent } from '../faces/client/client-sync.js';
import { DEFAULT_CLIENT_CONFIG, initClientConfig, loadClientConfig } from '../faces/client/config.js';
import type { CliIo } from './watch-commands.js';

type Wrap = (json: boolean, run: () => Promise<number>) => Promise<void>;

/** One line per event, for a terminal or a log; `verbose` adds every file moved. */
function clientLine(e: ClientEvent, verbose: boolean): string | undefined {
  switch (e.type) {
    case 'client.action':
      if (!verbose && e.action !== 'conflict') return undefined;
      return e.action === 'conflict' ? `conflict: ${e.path}: both versions kept (${e.to}; ${e.detail})` : `${e.action.replace('_', ' ')}: ${e.path}${e.to ? ` → ${e.to}` : ''}`;
    case 'client.failed':
      return `failed: ${e.path}: ${e.message}`;
    case 'client.synced':
      return `synced: ${e.uploaded} up, ${e.downloaded} down, ${e.deleted} deleted, ${e.conflicts} conflicts${e.failed ? `, ${e.failed} failed` : ''} (sequence ${e.sequence})`;
    case 'client.connection':
      return e.state === 'connected' ? 'connected to the server' : `disconnected: ${e.message ?? ''}`;
    case 'client.notice':
      return `notice: ${e.message}`;
  }
}

/** `ferry client init | start | status | sync-once`. */
export function clientCommands(io: CliIo, wrap: Wrap): Command {
  const client = new Command('client').description(describe('client'));
  const withConfig = (c: Command): Command => c.option('--config <file>', `the client configuration (default ./${DEFAULT_CLIENT_CONFIG})`, DEFAULT_CLIENT_CONFIG);
  const printer = (json: boolean, verbose: boolean) => (e: ClientEvent): void => {
    if (json) return io.out(`${JSON.stringify(e)}\n`);
    const line = clientLine(e, verbose);
    if (line) (e.type === 'client.failed' || e.type === 'client.notice' ? io.err : io.out)(`${line}\n`);
  };
  client.addCommand(
    withConfig(new Command('init'))
      .description('Write the client configuration (the seed\'s YAML: client_name, sync_directory, server_host, server_port, ignore_patterns, api_key).')
      .requiredOption('--name <name>', 'what this machine is called (its conflict copies carry it)')
      .requiredOption('--sync-dir <dir>', 'the folder to keep in sync')
      .option('--server <url>', 'the server', 'http://127.0.0.1:8000')
      .option('--api-key <key>', 'a key from `ferry serve keys add`, when the server needs one')
      .action((f: { config: string; name: string; syncDir: string; server: string; apiKey?: string }) =>
        wrap(false, async () => {
          const c = await initClientConfig({ file: f.config, name: f.name, syncDir: f.syncDir, server: f.server, apiKey: f.apiKey });
          io.out(`wrote ${c.file}: ${c.name} syncs ${c.syncDir} with ${c.server}\n`);
          return 0;
        }),
      ),
  );
  client.addCommand(
    withConfig(new Command('start'))
      .description('Register, sync, then keep syncing both ways until Ctrl-C.')
      .option('--verbose', 'a line for every file sent, fetched, moved or deleted')
      .option('--json', 'one JSON event per line')
      .action((f: { config: string; verbose?: boolean; json?: boolean }) =>
        wrap(f.json === true, async () => {
          const config = loadClientConfig(f.config);
          const controller = new AbortController();
          void io.stopped().then(() => controller.abort());
          if (!f.json) io.out(`syncing ${config.syncDir} with ${config.server} (Ctrl-C stops)\n`);
          await runClient(config, { emit: printer(f.json === true, f.verbose === true), signal: controller.signal });
          return 0;
        }),
      ),
  );
  client.addCommand(
    withConfig(new Command('sync-once'))
      .description('One full sync, then exit (0, or 1 when some files failed).')
      .option('--verbose', 'a line for every file')
      .option('--json', 'one JSON event per line')
      .action((f: { config: string; verbose?: boolean; json?: boolean }) =>
        wrap(f.json === true, async () => {
          const tally = await syncOnce(loadClientConfig(f.config), printer(f.json === true, f.verbose === true));
          return tally.failed > 0 ? 1 : 0;
        }),
      ),
  );
  client.addCommand(
    withConfig(new Command('status'))
      .description('Whether the server is reachable and this client connected, the last sync, pending changes and conflicts.')
      .option('--json', 'one JSON object')
      .action((f: { config: string; json?: boolean }) =>
        wrap(f.json === true, async () => {
          const s = await clientStatus(loadClientConfig(f.config));
          if (f.json) io.out(`${JSON.stringify(s)}\n`);
          else {
            io.out(`client:     ${s.client_name} (${s.client_id ?? 'not registered'})\nfolder:     ${s.sync_directory}\n`);
            io.out(`server:     ${s.server} (${s.reachable ? 'reachable' : 'not reachable'}; ${s.connected ? 'connected' : 'not connected'})\n`);
            io.out(`last sync:  ${s.last_sync ?? 'never'} (sequence ${s.last_seq})\npending:    ${s.pending_uploads} to send, ${s.pending_downloads} to fetch\n`);
            io.out(`conflicts:  ${s.conflicts.length}\n`);
            for (const c of s.conflicts) io.out(`  ${c.path}: the other version is ${c.copy} (${c.time})\n`);
          }
          return 0;
        }),
      ),
  );
  return client;
}
