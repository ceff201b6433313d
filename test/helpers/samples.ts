import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';

/**
 * Real files of each kind, made here: PNG, WAV and PDF by small encoders below; JPEG, MP3, WebM and
 * ZIP by Debian's cjpeg (libjpeg-turbo-progs), lame, vpxenc (vpx-tools) and zip, which `.ci/run`
 * installs. `seed` changes the pixels or samples, so two calls give two different contents.
 */

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A 16×16 RGB PNG. */
export function png(seed = 0): Buffer {
  const w = 16;
  const h = 16;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const raw = Buffer.alloc(h * (1 + w * 3));
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) raw.set([(x * 16 + seed) & 255, (y * 16) & 255, (seed * 7) & 255], y * (1 + w * 3) + 1 + x * 3);
  }
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

/** A mono 16-bit PCM WAV of `seconds` of a tone. */
export function wav(seed = 0, seconds = 0.25): Buffer {
  const rate = 8000;
  const n = Math.floor(rate * seconds);
  const data = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) data.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * (440 + seed * 10) * i) / rate)), i * 2);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVEfmt ', 8, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

/** A one-page PDF that says `text`, with a correct cross-reference table. */
export function pdf(text = 'hello'): Buffer {
  const stream = `BT /F1 24 Tf 72 720 Td (${text.replace(/[()\\]/g, '')}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let body = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(body.length);
    body += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = body.length;
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}

/** A 16×16 binary PPM, the input of cjpeg. */
function ppm(seed: number): Buffer {
  const px = Buffer.alloc(16 * 16 * 3);
  for (let i = 0; i < 256; i++) px.set([(i + seed) & 255, (i * 3) & 255, (seed * 11) & 255], i * 3);
  return Buffer.concat([Buffer.from('P6\n16 16\n255\n', 'ascii'), px]);
}

/** Y4M (4:2:0) frames, the input of vpxenc. */
function y4m(seed: number, frames = 5): Buffer {
  const parts = [Buffer.from('YUV4MPEG2 W16 H16 F25:1 Ip A1:1 C420jpeg\n', 'ascii')];
  for (let f = 0; f < frames; f++) {
    parts.push(Buffer.from('FRAME\n', 'ascii'), Buffer.alloc(256, (f * 40 + seed) & 255), Buffer.alloc(64, 128), Buffer.alloc(64, (seed * 5) & 255));
  }
  return Buffer.concat(parts);
}

const tool = (cmd: string, args: string[], input?: Buffer, cwd?: string): Buffer => execFileSync(cmd, args, { input, cwd, stdio: ['pipe', 'pipe', 'pipe'] });

export function jpeg(seed = 0): Buffer {
  return tool('cjpeg', ['-quality', '85'], ppm(seed));
}

export function mp3(scratch: string, seed = 0): Buffer {
  const inPath = join(scratch, `in-${seed}.wav`);
  const outPath = join(scratch, `out-${seed}.mp3`);
  mkdirSync(scratch, { recursive: true });
  writeFileSync(inPath, wav(seed, 0.5));
  tool('lame', ['--quiet', inPath, outPath]);
  return readFileSync(outPath);
}

export function webm(scratch: string, seed = 0): Buffer {
  const inPath = join(scratch, `in-${seed}.y4m`);
  const outPath = join(scratch, `out-${seed}.webm`);
  mkdirSync(scratch, { recursive: true });
  writeFileSync(inPath, y4m(seed));
  tool('vpxenc', ['--quiet', '--codec=vp8', '--limit=5', '-o', outPath, inPath]);
  return readFileSync(outPath);
}

/** A ZIP of two small text files, made by Info-ZIP's zip. */
export function zip(scratch: string, seed = 0): Buffer {
  const dir = join(scratch, `zip-${seed}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'a.txt'), `first ${seed}\n`);
  writeFileSync(join(dir, 'b.txt'), `second ${seed}\n`);
  tool('zip', ['-q', '-X', 'out.zip', 'a.txt', 'b.txt'], undefined, dir);
  return readFileSync(join(dir, 'out.zip'));
}

/** Writes `content` at `root/rel`, creating parents. */
export function put(root: string, rel: string, content: Buffer | string): string {
  const path = join(root, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  return path;
}
