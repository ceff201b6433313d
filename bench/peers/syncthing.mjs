// Syncthing as a peer for the `ferry serve` / `ferry client` benchmarks: two local instances on
// loopback sharing one folder (A sendreceive ⇄ B sendreceive), nothing else on the network.
//
//   import { checkSyncthing, startPair } from './peers/syncthing.mjs';
//   const chk = checkSyncthing(); if (!chk.ok) { console.error(chk.hint); ... }
//   const pair = await startPair({ dirA, dirB, homeBase });
//   try { ...write into dirA, wait for dirB...; await pair.waitIdle(); } finally { await pair.stop(); }
//
// Built and tested against Debian bookworm's syncthing 1.19.2 (`apt-get install -y syncthing`).
// Config: `syncthing generate --home H --no-default-folder --skip-port-probing` (1.19 has the
// `generate` subcommand; the old `-generate=DIR` flag survives as `serve --generate=DIR`), then
// config.xml is edited before the first start (no restart needed): GUI/REST on 127.0.0.1:<free
// port> with our API key, listen on tcp://127.0.0.1:<free port> only (no QUIC), the other device
// by static address, global/local discovery, relays, NAT/STUN, usage and crash reporting,
// auto-upgrade and restart-on-wakeup off, low-priority (nice) off, the folder with
// fsWatcherEnabled=true, fsWatcherDelayS=1, rescanIntervalS=86400.
// Quirks of 1.19: `serve --no-restart` still forks a monitor process (the child does the work,
// and a SIGKILL of the monitor would orphan it): STMONITORED=yes in the environment makes the
// process we spawn the one that syncs, so pids/usage()/stop() see the real thing.
// reconnectionIntervalS below 5 is clamped to 5. Syncthing measures SHA-256 implementations at
// every start (~0.9 s here); STHASHING=minio (what that measurement picks on this machine) skips
// it: start to connected drops from ~1.55 s to ~0.6 s. Pass env: { STHASHING: '' } for the default.
// It warns that it runs as root (harmless).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, now, pollUntil, procUsage } from './measure.mjs';

export const SYNCTHING_INSTALL_HINT = 'syncthing is not installed: apt-get install -y syncthing   (Debian bookworm ships 1.19.2)';

/** { ok, bin, version, hint }: whether `syncthing` runs here, and how to get it when it does not. */
export function checkSyncthing(bin = process.env.FERRY_BENCH_SYNCTHING ?? 'syncthing') {
  const r = spawnSync(bin, ['serve', '--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return { ok: false, bin, version: null, hint: SYNCTHING_INSTALL_HINT };
  const version = (r.stdout || r.stderr).trim().split('\n')[0];
  return { ok: true, bin, version, hint: null };
}

// Every syncthing we start, so that an exit of the harness (even on error) kills them.
const live = new Set();
let exitHook = false;
function track(child) {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const c of live) {
        try {
          c.kill('SIGKILL');
        } catch {
          /* gone */
        }
      }
    });
  }
}

/** SIGKILLs every syncthing this module started and has not stopped yet. */
export function killAllSyncthing() {
  for (const c of live) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
}

const xmlEsc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Replaces the text of <tag>…</tag> inside `block` (first occurrence); appends it when absent. */
function setElement(block, tag, value, closeTag) {
  const re = new RegExp(`<${tag}(\\s[^>]*)?>[^<]*</${tag}>|<${tag}(\\s[^>]*)?/>`);
  const el = `<${tag}>${xmlEsc(value)}</${tag}>`;
  if (re.test(block)) return block.replace(re, (m, a1, a2) => `<${tag}${a1 ?? a2 ?? ''}>${xmlEsc(value)}</${tag}>`);
  return block.replace(closeTag, `    ${el}\n    ${closeTag}`);
}

function setAttr(openTag, name, value) {
  const re = new RegExp(`\\s${name}="[^"]*"`);
  const attr = ` ${name}="${xmlEsc(value)}"`;
  return re.test(openTag) ? openTag.replace(re, attr) : openTag.replace(/>$/, `${attr}>`);
}

function editBlock(xml, re, fn) {
  const m = re.exec(xml);
  if (!m) throw new Error(`syncthing config.xml: no match for ${re}`);
  return xml.slice(0, m.index) + fn(m[0]) + xml.slice(m.index + m[0].length);
}

const OPTIONS = {
  globalAnnounceEnabled: 'false',
  localAnnounceEnabled: 'false',
  relaysEnabled: 'false',
  natEnabled: 'false', // also switches STUN off (IsStunDisabled)
  stunKeepaliveStartS: '0',
  startBrowser: 'false',
  urAccepted: '-1', // usage reporting declined
  urSeen: '3',
  autoUpgradeIntervalH: '0',
  crashReportingEnabled: 'false',
  restartOnWakeup: 'false',
  announceLANAddresses: 'false',
  setLowPriority: 'false', // syncthing nices itself by default: not in a benchmark against ferry
  reconnectionIntervalS: '5', // default 60 (a missed first dial would cost a minute); 1.19 clamps anything lower to 5
};

/**
 * Rewrites the config.xml that `syncthing generate` made: options above, GUI address and API key,
 * listen address, the other device with its static address, and the shared folder.
 */
function writeConfig(inst, peer, folder) {
  const file = path.join(inst.home, 'config.xml');
  let xml = fs.readFileSync(file, 'utf8');
  xml = editBlock(xml, /<options>[\s\S]*?<\/options>/, (block) => {
    let b = block.replace(/<listenAddress>[^<]*<\/listenAddress>\s*/g, '');
    b = b.replace('<options>', `<options>\n        <listenAddress>tcp://127.0.0.1:${inst.listenPort}</listenAddress>`);
    for (const [k, v] of Object.entries(OPTIONS)) b = setElement(b, k, v, '</options>');
    return b;
  });
  xml = editBlock(xml, /<gui\b[^>]*>[\s\S]*?<\/gui>/, (block) => {
    let b = block.replace(/^<gui\b[^>]*>/, (open) => setAttr(setAttr(open, 'enabled', 'true'), 'tls', 'false'));
    b = setElement(b, 'address', `127.0.0.1:${inst.guiPort}`, '</gui>');
    b = setElement(b, 'apikey', inst.apiKey, '</gui>');
    return b;
  });
  // The other device: generated defaults for a device, with its ID, name and static address.
  const defDevice = /<defaults>[\s\S]*?(<device id=""[\s\S]*?<\/device>)/.exec(xml)?.[1];
  if (!defDevice) throw new Error('syncthing config.xml: no <defaults><device> to copy');
  let dev = defDevice.replace(/^<device\b[^>]*>/, (open) => setAttr(setAttr(setAttr(open, 'id', peer.deviceId), 'name', peer.name), 'introducer', 'false'));
  dev = dev.replace(/<address>[^<]*<\/address>/, `<address>tcp://127.0.0.1:${peer.listenPort}</address>`);
  dev = setElement(dev, 'autoAcceptFolders', 'false', '</device>');
  // The folder: generated folder defaults (every element present), shared with both devices.
  const defFolder = /<defaults>[\s\S]*?(<folder id=""[\s\S]*?<\/folder>)/.exec(xml)?.[1];
  if (!defFolder) throw new Error('syncthing config.xml: no <defaults><folder> to copy');
  let fol = defFolder.replace(/^<folder\b[^>]*>/, (open) => {
    let o = open;
    for (const [k, v] of Object.entries({
      id: folder.id,
      label: folder.id,
      path: inst.dir,
      type: 'sendreceive',
      rescanIntervalS: folder.rescanIntervalS,
      fsWatcherEnabled: 'true',
      fsWatcherDelayS: folder.fsWatcherDelayS,
    })) o = setAttr(o, k, v);
    return o;
  });
  fol = fol.replace(/<device id="[^"]*" introducedBy="">[\s\S]*?<\/device>/, (d) => {
    const peerDev = d.replace(/id="[^"]*"/, `id="${peer.deviceId}"`);
    return `${d.replace(/id="[^"]*"/, `id="${inst.deviceId}"`)}\n            ${peerDev}`;
  });
  if (!fol.includes(peer.deviceId)) throw new Error('syncthing config.xml: could not share the folder with the peer');
  for (const [k, v] of Object.entries(folder.extra ?? {})) fol = setElement(fol, k, v, '</folder>');
  // Folders and devices go before <gui> (config order: folder*, device*, gui, ...).
  xml = xml.replace(/(\n\s*)<gui\b/, `$1${fol.replace(/\n\s{8}/g, '\n    ')}$1${dev.replace(/\n\s{8}/g, '\n    ')}$1<gui`);
  fs.writeFileSync(file, xml);
}

function generate(bin, home) {
  fs.mkdirSync(home, { recursive: true });
  const r = spawnSync(bin, ['generate', '--home', home, '--no-default-folder', '--skip-port-probing'], {
    encoding: 'utf8',
    env: { ...process.env, STNODEFAULTFOLDER: '1' },
  });
  if (r.status !== 0) throw new Error(`syncthing generate --home ${home} failed: ${r.stderr || r.stdout}`);
  let id = /Device ID:\s*([A-Z0-9-]{63})/.exec(`${r.stdout}\n${r.stderr}`)?.[1];
  if (!id) {
    const q = spawnSync(bin, ['serve', '--home', home, '--device-id'], { encoding: 'utf8' });
    id = q.stdout.trim();
  }
  if (!/^[A-Z0-9]{7}(-[A-Z0-9]{7}){7}$/.test(id)) throw new Error(`syncthing: no device ID for ${home}`);
  return id;
}

function makeApi(inst) {
  return async (p, { method = 'GET', body, timeoutMs = 10_000 } = {}) => {
    const res = await fetch(`http://127.0.0.1:${inst.guiPort}${p}`, {
      method,
      headers: { 'X-API-Key': inst.apiKey, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`syncthing ${inst.name} ${method} ${p}: HTTP ${res.status} ${text.slice(0, 200)}`);
    try {
      return text ? JSON.parse(text) : null;
    } catch {
      return text;
    }
  };
}

async function stopInstance(inst, graceMs = 5000) {
  const c = inst.child;
  if (!c || c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise((r) => c.once('exit', r));
  try {
    c.kill('SIGTERM');
  } catch {
    /* gone */
  }
  const t = setTimeout(() => {
    try {
      c.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }, graceMs);
  await exited;
  clearTimeout(t);
}

/**
 * Starts two syncthing instances (homes `homeBase`/a and `homeBase`/b, created fresh) sharing
 * `folderId` between `dirA` and `dirB` (created when missing; a `.stfolder` marker is added),
 * waits until both REST APIs answer, the two are connected and the folder is idle and in sync on
 * both. Returns the pair (see the end of this function). Anything failing on the way stops both.
 *
 * Options: folderId ('ferrybench'), fsWatcherDelayS (1), rescanIntervalS (86400),
 * folderOptions ({ element: value } set inside <folder>, e.g. { disableFsync: 'true' }),
 * timeoutMs (120 000, for the whole start), env (extra environment, e.g. { GOMAXPROCS: '1' }),
 * idle (true: wait for idle before returning; false: return once connected).
 */
export async function startPair({
  dirA,
  dirB,
  homeBase,
  folderId = 'ferrybench',
  fsWatcherDelayS = 1,
  rescanIntervalS = 86400,
  folderOptions = {},
  timeoutMs = 120_000,
  env = {},
  idle = true,
} = {}) {
  if (!dirA || !dirB || !homeBase) throw new Error('startPair needs { dirA, dirB, homeBase }');
  const chk = checkSyncthing();
  if (!chk.ok) throw new Error(chk.hint);
  const t0 = now();
  const [guiA, listenA, guiB, listenB] = await freePort(4);
  const mk = (name, dir, guiPort, listenPort) => ({
    name,
    dir: path.resolve(dir),
    home: path.join(path.resolve(homeBase), name),
    guiPort,
    listenPort,
    apiKey: randomBytes(24).toString('base64url'),
    deviceId: null,
    child: null,
    logFile: path.join(path.resolve(homeBase), `${name}.log`),
  });
  const a = mk('a', dirA, guiA, listenA);
  const b = mk('b', dirB, guiB, listenB);
  const insts = [a, b];
  const folder = { id: folderId, fsWatcherDelayS, rescanIntervalS, extra: folderOptions };
  const timings = {};

  const stop = async ({ keepHomes = false } = {}) => {
    await Promise.all(insts.map((i) => stopInstance(i)));
    if (!keepHomes) for (const i of insts) fs.rmSync(i.home, { recursive: true, force: true });
  };

  try {
    for (const i of insts) {
      fs.rmSync(i.home, { recursive: true, force: true });
      fs.mkdirSync(path.join(i.dir, '.stfolder'), { recursive: true });
      i.deviceId = generate(chk.bin, i.home);
    }
    writeConfig(a, b, folder);
    writeConfig(b, a, folder);
    timings.configuredMs = now() - t0;

    for (const i of insts) {
      const out = fs.openSync(i.logFile, 'w');
      i.child = spawn(
        chk.bin,
        ['serve', '--home', i.home, '--no-browser', '--no-restart', '--no-upgrade', `--gui-address=http://127.0.0.1:${i.guiPort}`, `--gui-apikey=${i.apiKey}`, '--logflags=3'],
        { stdio: ['ignore', out, out], env: { ...process.env, STNORESTART: '1', STNOUPGRADE: '1', STNODEFAULTFOLDER: '1', STMONITORED: 'yes', STHASHING: 'minio', ...env } },
      );
      fs.closeSync(out);
      track(i.child);
      i.api = makeApi(i);
      i.child.once('exit', (code, sig) => {
        i.exited = { code, sig };
      });
    }
    const deadline = t0 + timeoutMs;
    const left = () => Math.max(1000, deadline - now());
    const alive = () => {
      for (const i of insts) if (i.exited) throw new Error(`syncthing ${i.name} exited (${i.exited.code ?? i.exited.sig}); log ${i.logFile}:\n${tail(i.logFile)}`);
    };

    await pollUntil(
      async () => {
        alive();
        const st = await Promise.all(insts.map((i) => i.api('/rest/system/status', { timeoutMs: 2000 })));
        return st.every((s, k) => s.myID === insts[k].deviceId);
      },
      { timeoutMs: left(), intervalMs: 100, what: 'the syncthing REST APIs' },
    ).catch((e) => {
      alive();
      throw e;
    });
    timings.restUpMs = now() - t0;

    await pollUntil(
      async () => {
        alive();
        const cs = await Promise.all(insts.map((i) => i.api('/rest/system/connections', { timeoutMs: 2000 })));
        return cs[0].connections?.[b.deviceId]?.connected && cs[1].connections?.[a.deviceId]?.connected;
      },
      { timeoutMs: left(), intervalMs: 100, what: 'the two syncthing instances to connect' },
    );
    timings.connectedMs = now() - t0;

    const pair = {
      a,
      b,
      folderId,
      version: chk.version,
      timings,
      /** PIDs of the two syncthing processes (for CPU/RSS sampling). */
      get pids() {
        return insts.map((i) => i.child.pid);
      },
      /** { a: { cpuSec, rssKiB }, b: … } from /proc. */
      usage() {
        return { a: procUsage(a.child.pid), b: procUsage(b.child.pid) };
      },
      /** REST call on instance 'a' or 'b': pair.api('a', '/rest/db/status?folder=…'). */
      api(which, p, opts) {
        return (which === 'b' ? b : a).api(p, opts);
      },
      /** /rest/db/status of the shared folder on both: { a, b }. */
      async folderStatus() {
        const [sa, sb] = await Promise.all(insts.map((i) => i.api(`/rest/db/status?folder=${encodeURIComponent(folderId)}`)));
        return { a: sa, b: sb };
      },
      /** Asks 'a', 'b' or both (default) to rescan the folder now (sub: one path inside it). */
      async rescan(which, sub) {
        const q = `/rest/db/scan?folder=${encodeURIComponent(folderId)}${sub ? `&sub=${encodeURIComponent(sub)}` : ''}`;
        await Promise.all(insts.filter((i) => !which || i.name === which).map((i) => i.api(q, { method: 'POST' })));
      },
      waitIdle: (opts) => waitIdle(insts, folderId, { alive, ...opts }),
      stop,
    };
    if (idle) {
      await pair.waitIdle({ timeoutMs: left() });
      timings.idleMs = now() - t0;
    }
    return pair;
  } catch (e) {
    await stop({ keepHomes: true }).catch(() => {});
    throw e;
  }
}

/**
 * Resolves when the folder is idle and in sync on both instances: state "idle", nothing needed,
 * no pull errors, the peer 100 % complete as each side sees it, the same global file count and
 * bytes on both, and (when given) at least `expectFiles` local files on both. Checks every
 * `intervalMs` (200); it must hold on `stableChecks` (2) consecutive checks. Resolves with the
 * last { a, b } db statuses.
 */
async function waitIdle(insts, folderId, { timeoutMs = 120_000, intervalMs = 200, expectFiles, stableChecks = 2, alive = () => {} } = {}) {
  const [a, b] = insts;
  const f = encodeURIComponent(folderId);
  let good = 0;
  let last = null;
  return pollUntil(
    async () => {
      alive();
      const [sa, sb, ca, cb] = await Promise.all([
        a.api(`/rest/db/status?folder=${f}`),
        b.api(`/rest/db/status?folder=${f}`),
        a.api(`/rest/db/completion?folder=${f}&device=${b.deviceId}`),
        b.api(`/rest/db/completion?folder=${f}&device=${a.deviceId}`),
      ]);
      last = { a: sa, b: sb };
      for (const [name, s] of [['a', sa], ['b', sb]]) {
        if (s.watchError) throw new Error(`syncthing ${name}: folder watcher error: ${s.watchError}`);
        if (s.state === 'error') throw new Error(`syncthing ${name}: folder error: ${s.error ?? JSON.stringify(s)}`);
      }
      const ok =
        sa.state === 'idle' &&
        sb.state === 'idle' &&
        sa.needTotalItems === 0 &&
        sb.needTotalItems === 0 &&
        (sa.pullErrors ?? 0) === 0 &&
        (sb.pullErrors ?? 0) === 0 &&
        ca.completion === 100 &&
        cb.completion === 100 &&
        ca.needItems === 0 &&
        cb.needItems === 0 &&
        sa.globalFiles === sb.globalFiles &&
        sa.globalBytes === sb.globalBytes &&
        sa.localFiles === sa.globalFiles &&
        sb.localFiles === sb.globalFiles &&
        (expectFiles === undefined || (sa.localFiles >= expectFiles && sb.localFiles >= expectFiles));
      good = ok ? good + 1 : 0;
      return good >= stableChecks ? last : null;
    },
    { timeoutMs, intervalMs, what: `folder ${folderId} idle and in sync on both syncthing instances` },
  ).catch((e) => {
    if (last) e.message += ` (last: a ${brief(last.a)}; b ${brief(last.b)})`;
    throw e;
  });
}

function brief(s) {
  return `state ${s.state}, local ${s.localFiles}/${s.globalFiles} files, need ${s.needTotalItems}, pullErrors ${s.pullErrors}`;
}

function tail(file, n = 2000) {
  try {
    const t = fs.readFileSync(file, 'utf8');
    return t.slice(-n);
  } catch {
    return '';
  }
}

