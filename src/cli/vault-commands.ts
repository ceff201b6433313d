import { Command } from 'commander';
import { describe } from './command-list.js';
import { createInterface } from 'node:readline/promises';
import { FerryError } from '../core/errors.js';
import { formatBytes } from '../core/units.js';
import { add } from '../faces/vault/add.js';
import { backup } from '../faces/vault/backup.js';
import { applyClean, planClean } from '../faces/vault/clean.js';
import { dedupe, optimize } from '../faces/vault/dedupe.js';
import { explain } from '../faces/vault/explain.js';
import { get } from '../faces/vault/get.js';
import { diff, log, rollback } from '../faces/vault/history.js';
import { initVault } from '../faces/vault/init.js';
import { passthrough } from '../faces/vault/passthrough.js';
import { listDevices, status } from '../faces/vault/status.js';
import { sync } from '../faces/vault/sync.js';
import { keepsVaultFiles, syncRepo } from '../faces/vault/repo-sync.js';
import { gitTop, openVault } from '../faces/vault/vault.js';
import { branch, versions } from '../faces/vault/versions.js';
import * as view from './vault-views.js';
import type { CliIo } from './watch-commands.js';

type Wrap = (json: boolean, run: () => Promise<number>) => Promise<void>;
interface Common {
  managed?: string;
  json?: boolean;
  verbose?: boolean;
}

function parseWait(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new FerryError('USAGE', `--wait takes a number of seconds, not "${text}".`);
  return Number(text);
}

/** `ferry vault …`: seed 002's orchestrator over git, git-annex and rclone (docs/vault.md). */
export function vaultCommands(io: CliIo, wrap: Wrap): Command {
  const vault = new Command('vault').description(describe('vault')).enablePositionalOptions();
  const json = (v: unknown): void => io.out(`${JSON.stringify(v)}\n`);
  const show = (asJson: boolean | undefined, value: unknown, text: () => string): void => (asJson ? json(value) : io.out(text()));
  /** A status line redrawn in place on a terminal; nothing when piped. */
  const progress = (text: string): void => {
    if (process.stderr.isTTY) io.err(`\r\x1b[2K${text}`);
  };
  const endProgress = (): void => {
    if (process.stderr.isTTY) io.err('\r\x1b[2K');
  };
  const cmd = (name: string, description: string): Command => {
    const c = new Command(name).description(description).option('--managed <dir>', 'the managed directory (default: the one `init` recorded)');
    if (!['git', 'annex', 'rclone'].includes(name)) c.option('--verbose', 'the tools\' own messages when one fails');
    vault.addCommand(c);
    return c;
  };

  cmd('init', 'Create the vault (the managed repository and the cloud layout), or join the one at REMOTE:PATH as a new device.')
    .requiredOption('--remote <remote:path>', 'a remote of your rclone.conf and a path in it, such as onedrive:DevEnvironment')
    .option('--device <name>', 'what this machine is called in the vault (default: its host name)')
    .option('--wait <seconds>', 'how long to wait for another device\'s lock')
    .option('--json', 'one JSON object')
    .action((f: Common & { remote: string; device?: string; wait?: string }) =>
      wrap(f.json === true, async () => {
        const r = await initVault({ remote: f.remote, managed: f.managed, device: f.device, wait: parseWait(f.wait) });
        if (f.json) json(r);
        else io.out(`${r.action === 'created' ? 'created the vault' : r.action === 'joined' ? 'joined the vault' : 'the vault is ready'} at ${r.managed} ↔ ${r.remote} as device ${r.device}\n`);
        return 0;
      }),
    );

  cmd('explain', 'Say which tool would keep each file and why; changes nothing.')
    .argument('<paths...>')
    .option('--json', 'one JSON object per file')
    .action((paths: string[], f: Common) =>
      wrap(f.json === true, async () => {
        for (const d of await explain(paths, f.managed)) show(f.json, d, () => view.decisionLines(d));
        return 0;
      }),
    );

  cmd('add', 'Add files (directories walked, each file decided on its own): git, git-annex, the managed repository, or rclone to backups/.')
    .argument('<paths...>')
    .option('--dry-run', 'print the decisions and change nothing')
    .option('-m, --message <text>', 'the commit message')
    .option('--json', 'one JSON object')
    .action((paths: string[], f: Common & { dryRun?: boolean; message?: string }) =>
      wrap(f.json === true, async () => {
        const v = await openVault(f.managed);
        const r = await add(v, paths, { dryRun: f.dryRun, message: f.message, onFile: (_d, n, total) => progress(`adding ${n}/${total}`) });
        endProgress();
        if (f.json) json(r);
        else {
          if (f.dryRun || f.verbose) for (const d of r.files) io.out(view.decisionLines(d));
          io.out(view.addSummary(r));
        }
        return 0;
      }),
    );

  cmd('sync', 'git pull → merge → push through the cloud, annexed content both ways, then this device\'s record; under the vault lock. Inside another git repository: that one (its upstream, its annexed content to and from the vault\'s cloud).')
    .option('--wait <seconds>', 'how long to wait for another device\'s lock (default: lock_wait_seconds of .ferry/config.json)')
    .option('--no-get', 'do not fetch annexed content this device lacks')
    .option('--json', 'one JSON object')
    .action((f: Common & { wait?: string; get?: boolean }) =>
      wrap(f.json === true, async () => {
        const v = await openVault(f.managed);
        const wait = parseWait(f.wait);
        const here = f.managed ? undefined : await gitTop(v.t, process.cwd());
        if (here && here !== v.managed && (await keepsVaultFiles(v, here))) {
          // Inside another git repository: that one, with its upstream and the vault's cloud.
          const r = await syncRepo(v, here);
          show(f.json, r, () => view.repoSyncSummary(r));
          return r.conflicts.length ? 1 : 0;
        }
        const r = await sync(v, { wait, getContent: f.get === false ? false : undefined, onStep: (s) => progress(`sync: ${s}`) });
        endProgress();
        show(f.json, r, () => view.syncSummary(r));
        return r.conflicts.length ? 1 : 0;
      }),
    );

  cmd('status', 'git (uncommitted, ahead/behind), git-annex (content here, in the cloud, below numcopies), backups, devices, locks, last sync.')
    .option('--json', 'one JSON object')
    .action((f: Common) =>
      wrap(f.json === true, async () => {
        const s = await status(await openVault(f.managed));
        show(f.json, s, () => view.statusText(s));
        return 0;
      }),
    );

  cmd('get', 'Bring files here: git pull, git annex get, or rclone copy from backups/.')
    .argument('<files...>')
    .option('--json', 'one JSON object')
    .action((files: string[], f: Common) =>
      wrap(f.json === true, async () => {
        const got = await get(await openVault(f.managed), files);
        if (f.json) json(got);
        else for (const g of got) io.out(`${g.path}: ${g.by === 'here' ? 'already here' : `with ${g.by}`}${g.from ? ` from ${g.from}` : ''}\n`);
        return 0;
      }),
    );

  cmd('rollback', 'Restore FILE as it was at VERSION, as a new commit (history is never rewritten).')
    .argument('<file>')
    .requiredOption('--to <version>', 'a commit, HEAD~N, or a date ("2026-11-30", "3 days ago")')
    .option('--json', 'one JSON object')
    .action((file: string, f: Common & { to: string }) =>
      wrap(f.json === true, async () => {
        const r = await rollback(await openVault(f.managed), file, f.to);
        if (f.json) json(r);
        else io.out(r.unchanged ? `${r.file} is already as it was at ${r.to}\n` : `${r.file} restored to ${r.to} in the new commit ${r.commit}${r.annexed ? ' (content fetched)' : ''}\n`);
        return 0;
      }),
    );

  cmd('log', 'The history of the managed repository, or of one file.')
    .argument('[file]')
    .option('-n, --max-count <n>', 'at most this many commits', '1000')
    .option('--json', 'one JSON array')
    .action((file: string | undefined, f: Common & { maxCount: string }) =>
      wrap(f.json === true, async () => {
        if (!/^\d+$/.test(f.maxCount)) throw new FerryError('USAGE', `--max-count takes a number, not "${f.maxCount}".`);
        const entries = await log(await openVault(f.managed), file, Number(f.maxCount));
        show(f.json, entries, () => view.logText(entries));
        return 0;
      }),
    );

  cmd('diff', 'Compare two versions of FILE: a text diff for git files, size and hash for annexed ones.')
    .argument('<file>')
    .requiredOption('--between <versions...>', 'two versions: commits, HEAD~N or dates')
    .option('--json', 'one JSON object')
    .action((file: string, f: Common & { between: string[] }) =>
      wrap(f.json === true, async () => {
        if (f.between.length !== 2) throw new FerryError('USAGE', `--between takes two versions, not ${f.between.length}.`);
        const d = await diff(await openVault(f.managed), file, f.between[0]!, f.between[1]!);
        show(f.json, d, () => view.diffText(d));
        return 0;
      }),
    );

  cmd('branch', 'An experimental branch: NAME creates it (or switches to it); --merge brings it back into main; no NAME lists them.')
    .argument('[name]')
    .option('--merge', 'merge NAME (default: the current branch) into main and switch to main')
    .option('--remove', 'remove NAME (only once merged)')
    .option('--json', 'one JSON object')
    .action((name: string | undefined, f: Common & { merge?: boolean; remove?: boolean }) =>
      wrap(f.json === true, async () => {
        const r = await branch(await openVault(f.managed), name, { merge: f.merge, remove: f.remove });
        if (f.json) json(r);
        else if (r.action === 'listed') io.out(r.branches.map((b) => `${b.current ? '*' : ' '} ${b.name}\n`).join(''));
        else {
          io.out(`${r.action} ${r.branch}\n`);
          for (const c of r.conflicts) io.out(`conflict: ${c.path}: ${c.how}${c.kept ? ` (the other version is ${c.kept})` : ''}\n`);
        }
        return r.conflicts.length ? 1 : 0;
      }),
    );

  cmd('versions', 'Every versioned file, how many versions it has, and where its content lives.')
    .option('--json', 'one JSON array')
    .action((f: Common) =>
      wrap(f.json === true, async () => {
        const files = await versions(await openVault(f.managed));
        show(f.json, files, () => view.versionsText(files));
        return 0;
      }),
    );

  cmd('dedupe', 'Identical content across the managed repository and backups/; --apply keeps one copy without losing a name.')
    .option('--apply', 'remove the duplicate backup copies (each name is recorded with the copy that has its bytes)')
    .option('--json', 'one JSON object')
    .action((f: Common & { apply?: boolean }) =>
      wrap(f.json === true, async () => {
        const r = await dedupe(await openVault(f.managed), f.apply === true);
        show(f.json, r, () => view.dedupeText(r));
        return 0;
      }),
    );

  cmd('optimize', 'Recommendations: large blobs in git history, unused annexed content, git gc, backups that are also versioned.')
    .option('--json', 'one JSON array')
    .action((f: Common) =>
      wrap(f.json === true, async () => {
        const rs = await optimize(await openVault(f.managed));
        show(f.json, rs, () => view.optimizeText(rs));
        return 0;
      }),
    );

  cmd('clean', 'Remove temp and cache files, unused annexed content (only where the cloud has a copy), and upload leftovers; asks first.')
    .option('-y, --yes', 'remove without asking')
    .option('--dry-run', 'only list what would be removed')
    .option('--json', 'one JSON object')
    .action((f: Common & { yes?: boolean; dryRun?: boolean }) =>
      wrap(f.json === true, async () => {
        const v = await openVault(f.managed);
        const plan = await planClean(v);
        const empty = plan.tempFiles.length + plan.unusedKeys.length + plan.leftovers.length === 0;
        if (!f.json || f.dryRun || !f.yes) (f.json ? json : (p: typeof plan) => io.out(view.cleanPlanText(p)))(plan);
        if (empty || f.dryRun) return 0;
        if (!f.yes) {
          if (!process.stdin.isTTY) {
            io.err('ferry: nothing was removed: pass --yes to remove these without being asked.\n');
            return 0;
          }
          const rl = createInterface({ input: process.stdin, output: process.stderr });
          const answer = await rl.question('Remove these? [y/N] ');
          rl.close();
          if (!/^y(es)?$/i.test(answer.trim())) return 0;
        }
        const r = await applyClean(v, plan);
        show(f.json, r, () => view.cleanText(r));
        return 0;
      }),
    );

  cmd('backup', 'rclone copy PATH to backups/<device>/… in the cloud, not versioned.')
    .argument('<path>')
    .option('--bwlimit <rate>', 'a bandwidth limit such as 20M (bytes per second)')
    .option('--json', 'one JSON object')
    .action((path: string, f: Common & { bwlimit?: string }) =>
      wrap(f.json === true, async () => {
        const v = await openVault(f.managed);
        const r = await backup(v, path, { bwlimit: f.bwlimit, onProgress: (p) => progress(`backup: ${formatBytes(p.bytes)} of ${formatBytes(p.totalBytes)} at ${formatBytes(p.speed)}/s`) });
        endProgress();
        show(f.json, r, () => `backed up ${r.source} → ${r.destination} (${r.files} files sent, ${formatBytes(r.bytes)})\n`);
        return 0;
      }),
    );

  cmd('devices', 'The devices of the vault (coordination/devices/): name, host, git-annex UUID, last sync.')
    .option('--json', 'one JSON array')
    .action((f: Common) =>
      wrap(f.json === true, async () => {
        const ds = await listDevices(await openVault(f.managed));
        show(f.json, ds, () => ds.map((d) => `${d.name}  host ${d.host}  uuid ${d.annex_uuid}  last sync ${d.last_sync}\n`).join('') || 'no devices yet\n');
        return 0;
      }),
    );

  for (const [name, tool] of [['git', 'git'], ['annex', 'git-annex'], ['rclone', 'rclone']] as const) {
    cmd(name, `Run ${tool} in the managed repository${tool === 'rclone' ? ' (vault:PATH names a path of the vault\'s cloud)' : ''}; put -- before the tool's own options.`)
      .argument('[args...]')
      .passThroughOptions()
      .allowUnknownOption()
      .action((args: string[], f: Common) =>
        wrap(false, async () => passthrough(await openVault(f.managed), tool, args)),
      );
  }
  return vault;
}
