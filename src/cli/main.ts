import { Command, CommanderError, Help } from 'commander';
import { createRequire } from 'node:module';
import { EXIT, FerryError } from '../core/errors.js';
import type { FerryEvent } from '../core/events.js';
import type { CopyFlags } from './copy-command.js';
import { COMMANDS, type CommandEntry } from './command-list.js';

const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

const out = (t: string): void => void process.stdout.write(t);
const err = (t: string): void => void process.stderr.write(t);

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

const STOPPING = 'finishing the database writes (press Ctrl-C again to quit at once)';

/**
 * SIGINT/SIGTERM once: stop cleanly and resume later. Twice: leave at once (the database stays
 * consistent). `announce` says it where the output is drawn (the live panel must clear itself first).
 */
function interruptSignal(announce: (message: string) => void = (m) => err(`\nstopping: ${m}\n`)): AbortController {
  const controller = new AbortController();
  let count = 0;
  const onSignal = (): void => {
    count++;
    if (count === 1) {
      announce(STOPPING);
      controller.abort(new FerryError('INTERRUPTED', 'Interrupted.'));
    } else {
      process.exit(EXIT.interrupted);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return controller;
}

async function renderer(flags: CopyFlags, resumeHint: string): Promise<(e: FerryEvent) => void> {
  const { ndjsonRenderer } = await import('../report/ndjson.js');
  if (flags.json) return ndjsonRenderer(out);
  const { plainRenderer } = await import('../report/plain.js');
  const { ttyRenderer } = await import('../report/tty.js');
  const base = { write: out, writeErr: err, resumeHint, verbose: flags.verbose === true };
  if (flags.progress === false) return plainRenderer({ ...base, progressEveryMs: Number.POSITIVE_INFINITY });
  if (process.stdout.isTTY) return ttyRenderer({ ...base, columns: () => process.stdout.columns || 100 });
  return plainRenderer(base);
}

async function runCopy(source: string | undefined, destination: string | undefined, flags: CopyFlags): Promise<number> {
  if (flags.status) {
    const { copyStatus } = await import('../faces/copy/status.js');
    const { copyStatusView } = await import('./copy-views.js');
    const view = copyStatusView(await copyStatus({ source, destination, db: flags.db }));
    out(flags.json ? `${JSON.stringify(view.json)}\n` : view.text);
    return EXIT.ok;
  }
  const { parseCopyFlags } = await import('./copy-command.js');
  const options = parseCopyFlags(source, destination, flags);
  const resumeHint = ['npx', 'ferry', ...process.argv.slice(2)].map(shellQuote).join(' ');
  const render = await renderer(flags, resumeHint);
  const controller = interruptSignal((message) => render({ type: 'run.stopping', message }));
  const { copy } = await import('../faces/copy/copy.js');
  const result = await copy(options, render, controller.signal);
  return result.exitCode;
}

/** Reports a FerryError as one sentence (plus its hint); anything else is a bug and keeps its stack. */
function report(e: unknown, json: boolean): number {
  if (e instanceof FerryError) {
    if (json) out(`${JSON.stringify({ type: 'error', code: e.code, message: e.message, hint: e.hint })}\n`);
    err(`ferry: ${e.message}\n`);
    if (e.detail && process.argv.includes('--verbose')) err(`${e.detail.trimEnd()}\n`);
    if (e.hint) err(`hint: ${e.hint}\n`);
    return e.exitCode;
  }
  err(`ferry: internal error (please report it): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  return EXIT.failedFiles;
}

/** A message of commander's as one of ferry's sentences: a capital first, a full stop at the end of its first line. */
function sentence(text: string): string {
  const [line = '', ...rest] = text.split('\n');
  const first = line.charAt(0).toUpperCase() + line.slice(1);
  const ended = /[.!?]$/.test(first) || first === '' ? first : `${first}.`;
  return [ended, ...rest].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  let exitCode: number = EXIT.ok;
  // commander's own usage errors read like ferry's: "ferry: Unknown option '--x'.", then a hint.
  const output = {
    writeOut: out,
    writeErr: err,
    outputError: (text: string, write: (t: string) => void) => write(`ferry: ${sentence(text.replace(/^error: /, ''))}`),
  };
  const program = new Command('ferry')
    .description('ferry moves files and never loses them.')
    .version(VERSION)
    .enablePositionalOptions()
    .showHelpAfterError('hint: run with --help for usage')
    .exitOverride()
    .configureOutput(output);
  const wrap = async (json: boolean, run: () => Promise<number>): Promise<void> => {
    try {
      exitCode = await run();
    } catch (e) {
      exitCode = report(e, json);
    }
  };
  const stopped = (): Promise<void> => {
    const { signal } = interruptSignal();
    return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  };
  const configure = (c: Command, path = `ferry ${c.name()}`): void => {
    c.showHelpAfterError(`hint: run \`${path} --help\` for usage`).exitOverride().configureOutput(output);
    for (const sub of c.commands) configure(sub, `${path} ${sub.name()}`);
  };
  const io = { out, err, stopped };
  /** The commands one file declares, loaded (with the faces they call) only when one of them runs. */
  const load = async (module: CommandEntry['module']): Promise<Command[]> => {
    switch (module) {
      case 'copy': {
        const { copyCommand } = await import('./copy-command.js');
        return [copyCommand().action(async (source: string | undefined, destination: string | undefined, flags: CopyFlags) => {
          try {
            exitCode = await runCopy(source, destination, flags);
          } catch (e) {
            exitCode = report(e, flags.json === true);
          }
        })];
      }
      case 'watch':
        return (await import('./watch-commands.js')).watchCommands(io, wrap);
      case 'route':
        return [(await import('./route-commands.js')).routeCommands(io, wrap, () => interruptSignal().signal)];
      case 'serve':
        return [(await import('./serve-commands.js')).serveCommands(io, wrap, VERSION)];
      case 'client':
        return [(await import('./client-commands.js')).clientCommands(io, wrap)];
      case 'vault':
        return [(await import('./vault-commands.js')).vaultCommands(io, wrap)];
      case 'dashboard':
        return [(await import('./dashboard-command.js')).dashboardCommand(io, wrap)];
    }
  };
  // The command this run is for: the first word, or the one after `help`.
  const first = argv.find((a) => !a.startsWith('-'));
  const asked = first === 'help' ? argv[argv.indexOf('help') + 1] : first;
  const entry = COMMANDS.find((c) => c.name === asked);
  if (first !== undefined && argv[0] === first && first !== 'help' && !entry) {
    // A word that is not a command, even with --help after it ("ferry register-drive --help"), is an
    // error, with the command that has that name as a subcommand, where there is one (every file is
    // loaded to find it: this is the error's path only).
    const all = (await Promise.all([...new Set(COMMANDS.map((c) => c.module))].map(load))).flat();
    const owner = all.find((c) => c.commands.some((sub) => sub.name() === first));
    err(`ferry: There is no command "${first}".${owner ? ` Did you mean \`ferry ${owner.name()} ${first}\`?` : ''}\n`);
    err('hint: run `ferry --help` for the commands\n');
    return EXIT.usage;
  }
  const loaded = entry ? await load(entry.module) : [];
  for (const c of COMMANDS) {
    const real = loaded.find((l) => l.name() === c.name);
    const command = real ?? new Command(c.name).description(c.description);
    configure(command);
    program.addCommand(command);
  }
  // The listing shows each command as its own file declares it, loaded or not (command-list.ts).
  const help = new Help();
  program.configureHelp({ subcommandTerm: (c) => COMMANDS.find((e) => e.name === c.name())?.term ?? help.subcommandTerm(c) });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    return report(e, false);
  }
  return exitCode;
}
