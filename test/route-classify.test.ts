import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { categorize, classify, detect, looksLikeText } from '../dist/faces/route/classify.js';
import * as sample from './helpers/samples.js';

const dir = mkdtempSync(join(tmpdir(), 'ferry-classify-'));
const scratch = join(dir, '.scratch');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('classification by content', () => {
  const cases: Array<[string, () => Buffer | string, string, string]> = [
    ['a.png', () => sample.png(1), 'image/png', 'images'],
    ['b.jpg', () => sample.jpeg(1), 'image/jpeg', 'images'],
    ['clip.webm', () => sample.webm(scratch, 1), 'video/webm', 'videos'],
    ['tone.wav', () => sample.wav(1), 'audio/wav', 'audio'],
    ['tone.mp3', () => sample.mp3(scratch, 1), 'audio/mpeg', 'audio'],
    ['report.pdf', () => sample.pdf('report'), 'application/pdf', 'documents'],
    ['notes.md', () => '# Notes\n\nSome text, and ünïcode.\n', 'text/markdown', 'documents'],
    ['notes', () => 'plain words without an extension\n', 'text/plain', 'documents'],
    ['bundle.zip', () => sample.zip(scratch, 1), 'application/zip', 'archives'],
    ['blob.bin', () => Buffer.from([0, 1, 2, 3, 255, 254, 0, 7]), 'application/octet-stream', 'other'],
    ['empty.txt', () => '', 'inode/x-empty', 'other'],
  ];
  for (const [name, make, mime, category] of cases) {
    it(`${name} is ${mime} → ${category}`, async () => {
      const path = sample.put(dir, name, make());
      const c = await classify(path, 0, []);
      expect(c.detection.mime).toBe(mime);
      expect(c.category).toBe(category);
    });
  }

  it('names by content, not by extension: a PNG named .pdf is an image, a PDF named .jpg a document', async () => {
    expect((await classify(sample.put(dir, 'liar.pdf', sample.png(2)), 0, [])).category).toBe('images');
    expect((await classify(sample.put(dir, 'liar.jpg', sample.pdf('x')), 0, [])).category).toBe('documents');
    // Text named .jpg is still text: the extension breaks ties only among text formats, it never names a binary type.
    const text = await detect(sample.put(dir, 'words.jpg', 'just words\n'));
    expect(text).toMatchObject({ mime: 'text/plain', by: 'text' });
  });

  it('uses the extension only as a tie-break: a ZIP named .cbz is a comic book, text named .csv is CSV', async () => {
    expect(await detect(sample.put(dir, 'comic.cbz', sample.zip(scratch, 3)))).toMatchObject({ mime: 'application/vnd.comicbook+zip', by: 'magic+extension' });
    expect(await detect(sample.put(dir, 'table.csv', 'a,b\n1,2\n'))).toMatchObject({ mime: 'text/csv', by: 'text+extension' });
  });

  it('tells text from binary', () => {
    expect(looksLikeText(Buffer.from('hello\nworld\t!\n'))).toBe(true);
    expect(looksLikeText(Buffer.from('héllo wörld'))).toBe(true);
    // A multi-byte character cut by the end of the sample is still text.
    expect(looksLikeText(Buffer.from('héllo wörld', 'utf8').subarray(0, 2))).toBe(true);
    expect(looksLikeText(Buffer.from([0x68, 0x00, 0x69]))).toBe(false);
    expect(looksLikeText(Buffer.from([0xc3, 0x28, 0x41, 0x42]))).toBe(false);
    expect(looksLikeText(Buffer.from([0xff, 0xfe, 0x68, 0x00]))).toBe(true); // UTF-16 with a byte-order mark
  });
});

describe('user rules', () => {
  const png = { mime: 'image/png', by: 'magic' as const, extension: 'png' };
  it('the first matching rule wins; every condition must hold', () => {
    const rules = [
      { category: 'big-images', mime: ['image/*'], extensions: [], minSize: 1000 },
      { category: 'pngs', mime: [], extensions: ['png'] },
    ];
    expect(categorize(png, 'x.png', 10, rules)).toMatchObject({ category: 'pngs', rule: 1 });
    expect(categorize(png, 'x.png', 5000, rules)).toMatchObject({ category: 'big-images', rule: 0 });
    const none = categorize(png, 'x.PNG', 10, [{ category: 'raw', mime: [], extensions: ['cr2'] }]);
    expect(none).toMatchObject({ category: 'images', rule: null });
    expect(none.checks[0]!.reasons[0]).toContain('not one of .cr2');
  });

  it('matches extensions case-insensitively and multi-part ones (tar.gz)', () => {
    const gz = { mime: 'application/gzip', by: 'magic' as const, extension: 'gz' };
    expect(categorize(gz, 'backup.TAR.GZ', 1, [{ category: 'tarballs', mime: [], extensions: ['tar.gz'] }]).category).toBe('tarballs');
  });
});
