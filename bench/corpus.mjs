// Deterministic benchmark corpora. File contents are incompressible bytes from AES-128-CTR over
// zeros, keyed from the corpus name (fast: several GB/s); sizes and layout come from a seeded PRNG.
// Same name + scale => same tree, byte for byte. Cached under bench/out/corpus-<name>-<scale>,
// with a manifest bench/out/corpus-<name>-<scale>.json written last (no manifest = regenerate).
//
//   node bench/corpus.mjs [large|mixed|small ...]     (FERRY_BENCH_SCALE=0.1 for a small run)
import { createCipheriv, createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { OUT_DIR, fmtBytes, log, rmrf, scaleTag, settings } from './lib.mjs';

const KiB = 1024;
const MiB = 1024 * KiB;

export const CORPORA = {
  large: { describe: (s) => `4 files of ${fmtBytes(Math.round(512 * MiB * s))}`, plan: planLarge },
  mixed: { describe: (s) => `~${fmtBytes(2048 * MiB * s)} in files of 4 KiB–64 MiB (log-uniform), nested dirs`, plan: planMixed },
  small: { describe: (s) => `${Math.max(1, Math.round(50_000 * s))} files of 1–8 KiB in ${Math.max(1, Math.round(500 * s))} dirs`, plan: planSmall },
};

export const CORPUS_NAMES = Object.keys(CORPORA);

/** splitmix32-style PRNG: deterministic floats in [0, 1). */
function prng(seedText) {
  let s = createHash('sha256').update(seedText).digest().readUInt32LE(0);
  return () => {
    s = (s + 0x9e3779b9) | 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 16), 0x21f0aaad);
    t = Math.imul(t ^ (t >>> 15), 0x735a2d97);
    t ^= t >>> 15;
    return (t >>> 0) / 4294967296;
  };
}

/** A keystream of incompressible bytes for one corpus. */
function keystream(name, scale) {
  const key = createHash('sha256').update(`ferry-bench:${name}:${scale}`).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(8 * MiB);
  return (n) => {
    if (n <= zeros.length) return cipher.update(zeros.subarray(0, n));
    const parts = [];
    for (let left = n; left > 0; left -= zeros.length) parts.push(cipher.update(zeros.subarray(0, Math.min(left, zeros.length))));
    return Buffer.concat(parts);
  };
}

function planLarge(scale) {
  const size = Math.max(1, Math.round(512 * MiB * scale));
  return Array.from({ length: 4 }, (_, i) => ({ rel: `large-${i}.bin`, size }));
}

function planMixed(scale) {
  const rand = prng(`mixed:${scale}`);
  const target = Math.round(2048 * MiB * scale);
  const lo = Math.log(4 * KiB);
  const hi = Math.log(64 * MiB);
  const files = [];
  let total = 0;
  for (let i = 0; total < target; i++) {
    let size = Math.round(Math.exp(lo + (hi - lo) * rand()));
    size = Math.min(size, target - total);
    if (size <= 0) break;
    const depth = Math.floor(rand() * 4); // 0–3 directory levels
    const dirs = [];
    for (let d = 0; d < depth; d++) dirs.push(`d${d}-${Math.floor(rand() * 4)}`);
    files.push({ rel: path.join(...dirs, `f${String(i).padStart(5, '0')}.bin`), size });
    total += size;
  }
  return files;
}

function planSmall(scale) {
  const rand = prng(`small:${scale}`);
  const nFiles = Math.max(1, Math.round(50_000 * scale));
  const nDirs = Math.max(1, Math.round(500 * scale));
  const files = [];
  for (let i = 0; i < nFiles; i++) {
    const size = KiB + Math.floor(rand() * (7 * KiB + 1)); // 1–8 KiB
    files.push({ rel: path.join(`dir${String(i % nDirs).padStart(3, '0')}`, `file${String(i).padStart(5, '0')}.dat`), size });
  }
  return files;
}

export function corpusDir(name, scale = settings.scale) {
  return path.join(OUT_DIR, `corpus-${name}-${scaleTag(scale)}`);
}

/** Makes the corpus unless its manifest is there; returns { dir, files, bytes, dirs, describe }. */
export function ensureCorpus(name, scale = settings.scale) {
  const spec = CORPORA[name];
  if (!spec) throw new Error(`unknown corpus "${name}" (one of ${CORPUS_NAMES.join(', ')})`);
  const dir = corpusDir(name, scale);
  const manifestPath = `${dir}.json`;
  if (fs.existsSync(manifestPath) && fs.existsSync(dir)) {
    return { dir, ...JSON.parse(fs.readFileSync(manifestPath, 'utf8')) };
  }
  log(`generating corpus ${name} at scale ${scale}: ${spec.describe(scale)} → ${dir}`);
  const t0 = Date.now();
  rmrf(dir);
  fs.mkdirSync(dir, { recursive: true });
  const plan = spec.plan(scale);
  const next = keystream(name, scale);
  const madeDirs = new Set();
  let bytes = 0;
  for (const f of plan) {
    const p = path.join(dir, f.rel);
    const parent = path.dirname(p);
    if (!madeDirs.has(parent)) {
      fs.mkdirSync(parent, { recursive: true });
      madeDirs.add(parent);
    }
    const fd = fs.openSync(p, 'w');
    try {
      for (let left = f.size; left > 0; ) {
        const n = Math.min(left, 8 * MiB);
        fs.writeSync(fd, next(n));
        left -= n;
      }
    } finally {
      fs.closeSync(fd);
    }
    bytes += f.size;
  }
  spawnSync('sync');
  const dirs = new Set(plan.map((f) => path.dirname(f.rel)).filter((d) => d !== '.'));
  // count intermediate directories too
  for (const d of [...dirs]) for (let p = path.dirname(d); p !== '.'; p = path.dirname(p)) dirs.add(p);
  const manifest = { name, scale, describe: spec.describe(scale), files: plan.length, dirs: dirs.size, bytes };
  fs.writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
  log(`corpus ${name}: ${plan.length} files, ${dirs.size} dirs, ${fmtBytes(bytes)} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return { dir, ...manifest };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const names = process.argv.slice(2);
  for (const n of names.length ? names : CORPUS_NAMES) {
    const c = ensureCorpus(n);
    console.log(`${n}: ${c.dir} — ${c.files} files, ${c.dirs} dirs, ${fmtBytes(c.bytes)}`);
  }
}
