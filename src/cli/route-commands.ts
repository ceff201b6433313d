import { Command } from 'commander';
import { describe } from './command-list.js';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { resolve } from 'node:path';
import { describeFileError, EXIT, exitCodeFor, FerryError } from '../core/errors.js';
import type { FerryEvent } from '../core/events.js';
import { writeExampleConfig } from '../faces/route/config-file.js';
import { checkConfig, checkWorld, defaultConfigPath, formatProblem, loadConfig } from '../faces/route/config.js';
import { explain } from '../faces/route/explain.js';
import { registerDrive } from '../faces/route/register.js';
import { runRouter } from '../faces/route/run.js';
import { processPending, syncOnce, withRouter, type DeliveryReport } from '../faces/route/session.js';
import { ndjsonRenderer } from '../report/ndjson.js';
import { deliverySummaryJson, deliverySummaryLine, routeRenderer } from '../report/route.js';
import { connectedLines, driveLines, explainLines, statusLines } from './route-views.js';
import { connectedVolumes } from '../faces/route/connected.js';
import type { CliIo } from './watch-commands.js';

interface Flags {
  config?: string;
  json?: boolean;
  verbose?: boolean;
}

const configPath = (f: Flags): string => resolve(f.config ?? defaultConfigPath());
const withConfig = (c: Command): Command =>
  c.option('--config <path>', 'the configuration file (default: $FERRY_ROUTE_CONFIG or ~/.config/ferry/route.toml)');

type Wrap = (json: boolean, run: () => Promise<number>) => Promise<void>;

/** `ferry route …`: the ten commands of the seed, and `explain`. */
export function routeCommands(io: CliIo, wrap: Wrap, interrupt: () => AbortSignal): Command {
  const { out, err } = io;
  const route = new Command('route').description(describe('route'));

  const renderer = (f: Flags): ((e: FerryEvent) => void) =>
    f.json ? ndjsonRenderer(out) : routeRenderer({ write: out, writeErr: err, verbose: f.verbose === true, tty: process.stdout.isTTY === true, columns: () => process.stdout.columns || 100 });
  const summary = (f: Flags, r: DeliveryReport): void => out(f.json ? deliverySummaryJson(r) : deliverySummaryLine(r));

  withConfig(route.command('init').description('Write a commented example configuration.'))
    .option('--source <dir>', 'the directory to watch', '~/Incoming')
    .option('--force', 'replace an existing configuration')
    .action((f: Flags & { source: string; force?: boolean }) =>
      wrap(false, async () => {
        const path = configPath(f);
        if (existsSync(path) && !f.force) throw new FerryError('USAGE', `${path} already exists; nothing was written.`, { hint: 'Use --force to replace it, or --config to write another file.' });
        try {
          await writeExampleConfig(path, f.source);
        } catch (e) {
          throw new FerryError('USAGE', `Cannot write ${path}: ${describeFileError(e)}.`, { cause: e });
        }
        out(`wrote ${path}\nnext: set \`source\` in it, then \`ferry route register-drive --label L --category C\`\n`);
        return EXIT.ok;
      }),
    );

  withConfig(route.command('validate').description('Check the configuration: every problem with its file, line and key.'))
    .option('--json', 'print the problems as JSON')
    .action((f: Flags) =>
      wrap(f.json === true, async () => {
        const { config, problems } = checkConfig(configPath(f));
        if (config) problems.push(...checkWorld(config));
        if (f.json) out(`${JSON.stringify({ file: configPath(f), valid: problems.length === 0, problems })}\n`);
        else if (problems.length === 0) out(`${configPath(f)}: valid (${config!.drives.length} drive(s), ${config!.rules.length} rule(s))\n`);
        else for (const p of problems) err(`${formatProblem(p)}\n`);
        return problems.length === 0 ? EXIT.ok : EXIT.usage;
      }),
    );

  withConfig(route.command('register-drive').description('Write a marker on a drive and add it to the configuration.'))
    .requiredOption('--label <label>', 'a name for the drive (also how it is found when --path is not given: its filesystem label)')
    .requiredOption('--category <category>', 'the category it takes (images, videos, audio, documents, archives, other, or a rule\'s)')
    .option('--path <mount>', 'where the drive is mounted (or a directory, for a directory-backed drive)')
    .option('--json', 'print the registered drive as JSON')
    .action((f: Flags & { label: string; category: string; path?: string }) =>
      wrap(f.json === true, async () => {
        const config = loadConfig(configPath(f));
        const { drive, adopted } = await registerDrive(config, { label: f.label, category: f.category, path: f.path && resolve(f.path) });
        if (f.json) out(`${JSON.stringify({ ...drive, adopted })}\n`);
        else {
          out(`registered ${drive.label} (${drive.category}) at ${drive.path}${adopted ? ', keeping the id its marker already had' : ''}\n`);
          out(`  id ${drive.id}${drive.fsUuid ? `, filesystem UUID ${drive.fsUuid}` : ''}${drive.fsLabel ? `, label ${drive.fsLabel}` : ''}\n`);
        }
        return EXIT.ok;
      }),
    );

  /** list-drives and status: the drives as they are now, from the configuration, the mount table and the Store (read only). */
  const viewCommand = (name: string, description: string, make: typeof driveLines): void => {
    withConfig(route.command(name).description(description))
      .option('--json', 'print JSON')
      .action((f: Flags) =>
        wrap(f.json === true, async () => {
          const config = loadConfig(configPath(f));
          await withRouter(config, { emit: () => undefined, signal: new AbortController().signal, readOnly: true }, async (router) => {
            await router.locate();
            const view = make(config, router, await router.store.stats());
            out(f.json ? `${JSON.stringify(view.json)}\n` : view.text);
          });
          return EXIT.ok;
        }),
      );
  };
  viewCommand('list-drives', 'The registered drives, and which are here.', driveLines);

  withConfig(route.command('list-connected').description('The mounted volumes, and which are registered drives.'))
    .option('--json', 'print JSON')
    .action((f: Flags) =>
      wrap(f.json === true, async () => {
        const config = loadConfig(configPath(f));
        const lines = connectedLines(await connectedVolumes(config));
        out(f.json ? `${JSON.stringify(lines.json)}\n` : lines.text);
        return EXIT.ok;
      }),
    );

  withConfig(route.command('sync-once').description('Scan the source once, queue what is new, deliver to the drives that are here.'))
    .option('--json', 'print events and the summary as JSON lines')
    .option('-v, --verbose', 'also print how each file was classified')
    .action((f: Flags) =>
      wrap(f.json === true, async () => {
        const config = loadConfig(configPath(f));
        const r = await syncOnce(config, { emit: renderer(f), signal: interrupt() });
        summary(f, r);
        return exitCodeFor(r.outcome);
      }),
    );

  withConfig(route.command('process-pending').description('Deliver the queued files to the drives that are here (no scan).'))
    .option('--drive <label>', 'only this drive')
    .option('--json', 'print events and the summary as JSON lines')
    .action((f: Flags & { drive?: string }) =>
      wrap(f.json === true, async () => {
        const config = loadConfig(configPath(f));
        const r = await processPending(config, { emit: renderer(f), signal: interrupt(), drive: f.drive });
        summary(f, r);
        return exitCodeFor(r.outcome);
      }),
    );

  withConfig(route.command('run').description('Watch the source and the mount table; deliver as files and drives arrive (Ctrl-C stops).'))
    .option('--json', 'print events as JSON lines')
    .option('-v, --verbose', 'also print how each file was classified')
    .action((f: Flags) =>
      wrap(f.json === true, async () => {
        const config = loadConfig(configPath(f));
        const emit = renderer(f);
        const signal = interrupt();
        return withRouter(config, { emit, signal, audit: true }, async (router) => {
          if (!f.json) out(`watching ${config.source}; ${config.drives.length} drive(s) registered; Ctrl-C stops\n`);
          await runRouter(router, { emit, signal });
          if (!f.json) out('stopped\n');
          return EXIT.ok;
        });
      }),
    );

  viewCommand('status', 'Per drive: delivered, pending, bytes, last seen.', statusLines);

  withConfig(route.command('clear').description('Forget the delivery history and the queue (asks first).'))
    .option('--drive <label>', 'only this drive\'s')
    .option('-y, --yes', 'do not ask')
    .option('--json', 'print what was cleared as JSON')
    .action((f: Flags & { drive?: string; yes?: boolean }) =>
      wrap(f.json === true, async () => {
        const config = loadConfig(configPath(f));
        const drive = f.drive === undefined ? undefined : config.drives.find((d) => d.label.toLowerCase() === f.drive!.toLowerCase());
        if (f.drive !== undefined && !drive) throw new FerryError('USAGE', `No drive is labelled "${f.drive}".`, { hint: 'See `ferry route list-drives`.' });
        const what = drive ? `the delivery history and queue of ${drive.label}` : 'the delivery history and queue of every drive';
        if (!f.yes) {
          if (!process.stdin.isTTY) throw new FerryError('USAGE', `clear forgets ${what}: confirm with --yes.`);
          const rl = createInterface({ input: process.stdin, output: process.stderr });
          const answer = await rl.question(`Forget ${what}? Files on the drives stay; a later sync checks them by content. [y/N] `);
          rl.close();
          if (!/^y(es)?$/i.test(answer.trim())) {
            out('nothing was cleared\n');
            return EXIT.ok;
          }
        }
        const cleared = await withRouter(config, { emit: () => undefined, signal: new AbortController().signal }, (router) => router.store.clear(drive?.id ?? null));
        out(f.json ? `${JSON.stringify(cleared)}\n` : `cleared ${cleared.deliveries} delivery record(s) and ${cleared.pending} queued file(s)\n`);
        return EXIT.ok;
      }),
    );

  withConfig(route.command('explain').argument('<file>', 'any file').description('Show why a file goes where it goes.'))
    .option('--json', 'print JSON')
    .action((file: string, f: Flags) =>
      wrap(f.json === true, async () => {
        const config = loadConfig(configPath(f));
        const e = await explain(config, file);
        out(f.json ? `${JSON.stringify(e)}\n` : explainLines(e, config));
        return EXIT.ok;
      }),
    );
  return route;
}
