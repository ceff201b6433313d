import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finished, runCli, startCli } from './helpers/cli.js';
import { routeWorld } from './helpers/route.js';
import { tempDir } from './helpers/tree.js';

/*
 * `ferry dashboard` in Debian's Chromium (playwright-core): real jobs of every face made by the real
 * CLI in one state directory, a real copy held to a --bwlimit so it runs for seconds, the page read
 * as a person would (its text, its progress bars, its chart's points), at 375 px and by keyboard.
 * Screenshots of each state go to test-results/dashboard/ for a person to look at.
 */
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const SHOTS = join(process.cwd(), 'test-results', 'dashboard');
const root = process.getuid?.() === 0;

const dir = tempDir('ferry-dashboard-');
const env = { XDG_STATE_HOME: join(dir, 'state'), XDG_CONFIG_HOME: join(dir, 'config') };
const children: ChildProcess[] = [];
let browser: Browser;
let page: Page;
let url = '';
let copy: ChildProcess;
const src = join(dir, 'src');
const frozen: string[] = [];

function start(args: string[]): ChildProcess {
  const c = startCli(args, env);
  children.push(c);
  return c;
}

async function startDashboard(args: string[] = []): Promise<{ child: ChildProcess; url: string }> {
  const child = start(['dashboard', '--port', '0', '--json', ...args]);
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    child.on('exit', (code) => reject(new Error(`ferry dashboard exited with ${code}`)));
  });
  return { child, url: (JSON.parse(line) as { url: string }).url };
}

const card = (face: string) => page.locator(`article[data-face="${face}"]`);

describe.skipIf(!CHROMIUM)('ferry dashboard in Chromium', () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    // A copy with a failed file: a destination directory that even root cannot write (chattr +i).
    const failSrc = join(dir, 'fail-src');
    mkdirSync(join(failSrc, 'locked'), { recursive: true });
    writeFileSync(join(failSrc, 'ok.txt'), 'fine\n');
    writeFileSync(join(failSrc, 'locked', 'blocked.txt'), 'cannot land\n');
    const failDst = join(dir, 'fail-dst');
    mkdirSync(join(failDst, 'locked'), { recursive: true });
    if (root) {
      execFileSync('chattr', ['+i', join(failDst, 'locked')]);
      frozen.push(join(failDst, 'locked'));
      const r = await runCli(['copy', failSrc, failDst], env);
      expect(r.code).toBe(1);
    }
    // A watch index whose watcher runs.
    const watched = join(dir, 'photos');
    mkdirSync(watched);
    for (let i = 0; i < 5; i++) writeFileSync(join(watched, `p${i}.jpg`), `photo ${i}\n`);
    const watch = start(['watch', watched]);
    void watch;
    // A route set-up with two drives, one of them away.
    const world = routeWorld();
    writeFileSync(join(world.source, 'a.txt'), 'text\n');
    const docs = await world.dirDrive('DOCS', 'documents');
    const away = await world.dirDrive('AWAY', 'documents');
    expect((await world.route('sync-once')).code).toBe(0);
    renameSync(away, `${away}-unplugged`);
    // A server with two clients.
    const serve = start(['serve', '--dir', join(dir, 'served'), '--port', '0', '--quiet']);
    const serveLine = await new Promise<string>((resolve) => serve.stdout!.on('data', (d: Buffer) => resolve(d.toString())));
    const serverUrl = /listening on (\S+)/.exec(serveLine)![1]!;
    for (const name of ['laptop', 'desktop']) {
      const res = await fetch(`${serverUrl}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_name: name, platform: 'linux' }) });
      expect(res.status).toBe(200);
    }
    // The copy the page watches (started once the page is open): 24 MiB at 2 MiB/s.
    mkdirSync(src);
    writeFileSync(join(src, 'big.bin'), Buffer.alloc(24 * 1024 * 1024, 7));
    for (let i = 0; i < 20; i++) writeFileSync(join(src, `small-${i}.txt`), `small ${i}\n`);

    const d = await startDashboard(['--db', join(world.dir, 'route.db')]);
    url = d.url;
    void docs;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? finished(c).catch(() => undefined) : undefined)));
    for (const p of frozen) execFileSync('chattr', ['-i', p]);
  });

  it('shows the running copy advancing and its rate chart drawing, live, with nothing the policy blocks', async () => {
    const blocked: string[] = [];
    page.on('console', (m) => {
      if (/Content.Security.Policy|Refused to/i.test(m.text())) blocked.push(m.text());
    });
    page.on('pageerror', (e) => blocked.push(String(e)));
    await page.goto(url);
    await expect.poll(() => page.locator('#link').textContent(), { timeout: 10_000 }).toBe('live');
    // A job that starts after the page opened appears on it.
    copy = start(['copy', src, join(dir, 'dst'), '--bwlimit', '2M', '--json']);
    const running = page.locator('article[data-face="copy"][data-state="running"]');
    await running.waitFor({ timeout: 15_000 });
    const bytesBar = running.locator('progress').nth(1);
    const first = Number(await bytesBar.getAttribute('value'));
    await page.screenshot({ path: join(SHOTS, '1-copy-running-start.png'), fullPage: true });
    // No reload: the page changes from the event stream.
    await expect.poll(async () => Number(await bytesBar.getAttribute('value')), { timeout: 15_000 }).toBeGreaterThan(first + 5);
    const points = Number(await running.locator('.chart').getAttribute('data-points'));
    await expect.poll(async () => Number(await running.locator('.chart').getAttribute('data-points')), { timeout: 10_000 }).toBeGreaterThan(Math.max(points, 1));
    expect(await running.locator('.chart canvas').count()).toBe(1);
    await expect.poll(async () => running.locator('[data-field="rate-now"]').textContent()).toMatch(/MiB\/s|KiB\/s/);
    expect(await running.textContent()).toContain('ETA');
    expect(await running.locator('code.cmd').textContent()).toContain(`ferry copy ${join(dir, 'src')} ${join(dir, 'dst')}`);
    await page.screenshot({ path: join(SHOTS, '2-copy-running-later.png'), fullPage: true });
    // It ends: the card says how and when, without a reload.
    const end = await finished(copy);
    expect(end.code).toBe(0);
    const done = page.locator(`article[data-face="copy"][data-state="done"]`).filter({ hasText: join(dir, 'dst') });
    await done.waitFor({ timeout: 10_000 });
    expect(await done.locator('.state-text').first().textContent()).toMatch(/^done — \d\d:\d\d:\d\d$/);
    await page.screenshot({ path: join(SHOTS, '3-copy-done.png'), fullPage: true });
    expect(blocked).toEqual([]);
  });

  it.skipIf(!root)('shows a failed file with its error', async () => {
    const failed = page.locator('article[data-face="copy"][data-state="failed"]');
    await failed.waitFor();
    await failed.locator('summary', { hasText: 'Failed files (1)' }).click();
    const item = failed.locator('ul.failures li');
    expect(await item.textContent()).toMatch(/^locked\/blocked\.txt: .*(permission|not permitted|EPERM|EACCES)/i);
    await failed.screenshot({ path: join(SHOTS, '4-copy-failed-file.png') });
  });

  it('shows the watch index, the route set-up with one drive away, and the server with two clients', async () => {
    const watch = card('watch');
    await expect.poll(async () => watch.textContent(), { timeout: 15_000 }).toMatch(/files5.*watched by ferry watch/s);
    expect(await watch.textContent()).toContain(join(dir, 'photos'));
    await watch.locator('summary').first().click();
    expect(await watch.locator('table tbody tr').count()).toBeGreaterThan(0);
    const route = card('route');
    const rows = route.locator('table').first().locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    expect(await rows.filter({ hasText: 'DOCS' }).locator('.online').textContent()).toBe('online');
    expect(await rows.filter({ hasText: 'AWAY' }).locator('.away').textContent()).toBe('away');
    expect(await route.locator('.state-text').first().textContent()).toContain('1 online, 1 away');
    const server = card('server');
    await expect.poll(async () => server.locator('table').first().locator('tbody tr').count()).toBe(2);
    expect(await server.textContent()).toMatch(/laptop.*desktop|desktop.*laptop/s);
    await page.screenshot({ path: join(SHOTS, '5-every-face.png'), fullPage: true });
  });

  it('works 375 px wide: nothing wider than the screen', async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    // The charts follow the resize on the window's resize event: wait for the page to fit, or fail.
    await expect.poll(() => page.evaluate<number>('document.documentElement.scrollWidth'), { timeout: 5000 }).toBeLessThanOrEqual(375);
    await page.screenshot({ path: join(SHOTS, '6-narrow-375px.png'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 1000 });
  });

  it('works by keyboard alone: the filters, then a card\'s details', async () => {
    await page.goto(url);
    await card('route').waitFor();
    const focused = (): Promise<string> => page.evaluate<string>("document.activeElement?.textContent?.trim() ?? ''");
    // Tab from the top: the skip link, then the filters in order.
    for (let i = 0; i < 10 && (await focused()) !== 'Route'; i++) await page.keyboard.press('Tab');
    expect(await focused()).toBe('Route');
    await page.keyboard.press('Enter');
    expect(await page.locator('article:visible').count()).toBe(1);
    expect(await page.locator('article:visible').getAttribute('data-face')).toBe('route');
    expect(await page.locator('#filters button[aria-pressed="true"]').textContent()).toBe('Route');
    // On to the visible card's "Recent deliveries", opened with Enter.
    for (let i = 0; i < 10 && !(await focused()).startsWith('Recent deliveries'); i++) await page.keyboard.press('Tab');
    expect(await focused()).toMatch(/^Recent deliveries/);
    await page.keyboard.press('Enter');
    expect(await card('route').locator('details[data-key="recent"]').getAttribute('open')).toBe('');
    await page.screenshot({ path: join(SHOTS, '7-keyboard-route-filter.png'), fullPage: true });
    // Back to every job with the keyboard.
    await page.keyboard.press('Shift+Tab');
    for (let i = 0; i < 12 && (await focused()) !== 'All'; i++) await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Space');
    expect(await page.locator('article:visible').count()).toBeGreaterThanOrEqual(4);
  });
});
