// ferry vault, measured (issue 12), against the same work done with the tools themselves:
//   add      `ferry vault add` of a mixed tree (1,000 small files, five of 12 MB) into a fresh vault,
//            against a shell script that does the same by hand: cp into a git-annex repository,
//            git add, git annex add, git commit, git annex copy to the same special remote;
//   noop     a `ferry vault sync` with nothing to do, against the same tool calls in a script
//            (rclone sync down, git fetch, git annex merge, git annex copy --fast, git push);
//   explain  `ferry vault explain` of 10,000 files, against `file --mime-type` over the same files.
// Rounds alternate ferry and the script; the cloud is an rclone local remote on the same disk.
//
//   node bench/run.mjs vault
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { OUT_DIR, ferryBin, fmtRatio, fmtSec, log, mdTable, median, rmrf, settings, timedRun, waitQuiet } from './lib.mjs';

const DIR = path.join(OUT_DIR, 'vault');
const LOGS = path.join(OUT_DIR, 'logs', 'vault');
const MB = 1_000_000;

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** tree/s00…s19/f000….txt (1,000 small text files, 1–16 KiB) and tree/large/big0…4.bin (12 MB each). */
function mixedTree() {
  const root = path.join(DIR, 'corpus', 'tree');
  if (fs.existsSync(path.join(root, 'large', 'big4.bin'))) return root;
  rmrf(path.dirname(root));
  for (let d = 0; d < 20; d++) {
    const dir = path.join(root, `s${String(d).padStart(2, '0')}`);
    fs.mkdirSync(dir, { recursive: true });
    for (let f = 0; f < 50; f++) fs.writeFileSync(path.join(dir, `f${String(f).padStart(3, '0')}.txt`), `${randomBytes(512 + ((d * 50 + f) % 16) * 512).toString('base64')}\n`);
  }
  fs.mkdirSync(path.join(root, 'large'), { recursive: true });
  for (let i = 0; i < 5; i++) fs.writeFileSync(path.join(root, 'large', `big${i}.bin`), randomBytes(12 * MB));
  return root;
}

/** 10,000 small files in 100 directories, for explain. */
function manyFiles() {
  const root = path.join(DIR, 'corpus', 'many');
  if (fs.existsSync(path.join(root, 'd99', 'f99.txt'))) return root;
  for (let d = 0; d < 100; d++) {
    const dir = path.join(root, `d${d}`);
    fs.mkdirSync(dir, { recursive: true });
    for (let f = 0; f < 100; f++) fs.writeFileSync(path.join(dir, `f${f}.txt`), `line ${d} ${f}\n`);
  }
  return root;
}

/** A fresh world: an rclone config with a local remote, a HOME; `ferry vault init` in it. */
function world(round) {
  const dir = path.join(DIR, `round-${round}`);
  rmrf(dir);
  fs.mkdirSync(path.join(dir, 'home'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'cloud'));
  const conf = path.join(dir, 'rclone.conf');
  fs.writeFileSync(conf, '[cloud]\ntype = local\n');
  const env = {
    ...process.env,
    HOME: path.join(dir, 'home'),
    XDG_CONFIG_HOME: path.join(dir, 'home', '.config'),
    RCLONE_CONFIG: conf,
    PATH: `${path.join(path.dirname(ferryBin))}:${process.env.PATH}`,
    GIT_AUTHOR_NAME: 'bench',
    GIT_AUTHOR_EMAIL: 'bench@x',
    GIT_COMMITTER_NAME: 'bench',
    GIT_COMMITTER_EMAIL: 'bench@x',
  };
  return { dir, env, remote: `cloud:${path.join(dir, 'cloud')}/vault`, managed: path.join(dir, 'home', 'ferry-vault') };
}

function ferryVault(w, args) {
  return sh(process.execPath, [ferryBin, 'vault', ...args], { env: w.env, cwd: w.env.HOME });
}

/** The by-hand repository: git + git-annex + the same special remote as the vault's, not timed. */
function byHandRepo(w) {
  const repo = path.join(w.dir, 'by-hand');
  fs.mkdirSync(repo);
  const run = (args) => sh('git', args, { cwd: repo, env: w.env });
  run(['init', '-q', '-b', 'main']);
  run(['annex', 'init', '--quiet', 'bench']);
  run(['annex', 'initremote', 'ferry-vault', 'type=external', 'externaltype=ferry', 'encryption=none', `target=cloud:${path.join(w.dir, 'cloud')}/by-hand/git-annex-storage`]);
  return repo;
}

const ADD_SCRIPT = `set -e
mkdir -p documents/tree projects/datasets/tree
cp -r "$TREE"/s* documents/tree/
cp -r "$TREE"/large projects/datasets/tree/
git -c annex.largefiles=nothing add documents/tree
git annex add --force-large --quiet projects/datasets/tree
git commit -q -m "add the tree"
git annex copy --quiet --to=ferry-vault projects/datasets/tree
`;

const NOOP_SCRIPT = `set -e
rclone sync "$CLOUD/managed" .git/ferry/cloud.git --create-empty-src-dirs
git fetch -q --prune ferry-cloud
git merge -q --no-edit ferry-cloud/main
git annex merge --quiet
git annex copy --all --fast --quiet --to=ferry-vault
git annex get --quiet --from=ferry-vault
git push -q ferry-cloud 'refs/heads/*:refs/heads/*'
`;

export async function runVault() {
  const tree = mixedTree();
  const many = manyFiles();
  const rows = { add: [], addPeer: [], noop: [], noopPeer: [], explain: [], explainPeer: [] };
  for (let round = 0; round < settings.rounds; round++) {
    const w = world(round);
    ferryVault(w, ['init', '--remote', w.remote, '--device', 'bench']);
    const repo = byHandRepo(w);
    await waitQuiet();
    const add = await timedRun(process.execPath, [ferryBin, 'vault', 'add', tree], { env: w.env, logBase: path.join(LOGS, `add-${round}`), syncAfter: false });
    if (!add.ok) throw new Error(`ferry vault add failed: ${add.stderr}`);
    rows.add.push(add.tool);
    await waitQuiet();
    const peer = await timedRun('bash', ['-c', `cd "${repo}" && ${ADD_SCRIPT}`], { env: { ...w.env, TREE: tree }, logBase: path.join(LOGS, `add-peer-${round}`), syncAfter: false });
    if (!peer.ok) throw new Error(`the by-hand add failed: ${peer.stderr}`);
    rows.addPeer.push(peer.tool);
    log(`vault add round ${round}: ferry ${fmtSec(add.tool)} s, by hand ${fmtSec(peer.tool)} s`);

    ferryVault(w, ['sync']); // publishes the add: the next one has nothing to do
    await waitQuiet();
    const noop = await timedRun(process.execPath, [ferryBin, 'vault', 'sync'], { env: w.env, logBase: path.join(LOGS, `noop-${round}`), syncAfter: false });
    if (!noop.ok) throw new Error(`ferry vault sync failed: ${noop.stderr}`);
    rows.noop.push(noop.tool);
    await waitQuiet();
    const noopPeer = await timedRun('bash', ['-c', `cd "${w.managed}" && ${NOOP_SCRIPT}`], { env: { ...w.env, CLOUD: w.remote }, logBase: path.join(LOGS, `noop-peer-${round}`), syncAfter: false });
    if (!noopPeer.ok) throw new Error(`the by-hand sync failed: ${noopPeer.stderr}`);
    rows.noopPeer.push(noopPeer.tool);

    await waitQuiet();
    const ex = await timedRun(process.execPath, [ferryBin, 'vault', 'explain', many, '--json'], { env: w.env, logBase: path.join(LOGS, `explain-${round}`), syncAfter: false, stdoutToNull: true });
    if (!ex.ok) throw new Error(`ferry vault explain failed: ${ex.stderr}`);
    rows.explain.push(ex.tool);
    await waitQuiet();
    const file = await timedRun('bash', ['-c', `find "${many}" -type f -print0 | xargs -0 file --mime-type > /dev/null`], { env: w.env, logBase: path.join(LOGS, `explain-peer-${round}`), syncAfter: false });
    rows.explainPeer.push(file.tool);
    log(`vault noop round ${round}: ferry ${fmtSec(noop.tool)} s, by hand ${fmtSec(noopPeer.tool)} s; explain ${fmtSec(ex.tool)} s, file ${fmtSec(file.tool)} s`);
  }
  const line = (what, a, b, peer) => [what, `${fmtSec(median(a))} s`, `${fmtSec(median(b))} s (${peer})`, fmtRatio(median(a) / median(b)), a.map(fmtSec).join(', ')];
  return [
    `### ferry vault (${settings.rounds} rounds, medians)`,
    '',
    mdTable(
      ['work', 'ferry vault', 'the tools by hand', 'ratio', 'ferry per round'],
      [
        line('add: 1,000 small files + five of 12 MB', rows.add, rows.addPeer, 'cp, git add, git annex add, commit, annex copy'),
        line('sync with nothing to do', rows.noop, rows.noopPeer, 'rclone sync, fetch, merge, annex merge/copy/get, push'),
        line('explain 10,000 files', rows.explain, rows.explainPeer, 'file --mime-type'),
      ],
    ),
    '',
  ].join('\n');
}
