/**
 * The chat against a master with API keys, in a real Chromium: the page loads
 * (static files are open), the Socket.IO handshake is refused without a key,
 * the page asks for one, a wrong key is refused and said so, the right key
 * connects and an echo task runs; the page reports no CSP violation.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { startCluster } from '../helpers/cluster.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WEB_DIR = join(REPO, 'dist', 'web');
const KEY = 'tw-browser-key-0c9d7e';
const WAIT_MS = 30_000;

describe('browser chat with API keys', () => {
  let cluster: Awaited<ReturnType<typeof startCluster>> | undefined;
  let browser: TestBrowser | undefined;

  beforeAll(async () => {
    if (!existsSync(join(WEB_DIR, 'index.html'))) {
      const { build } = await import('vite');
      await build({ configFile: join(REPO, 'web', 'vite.config.ts'), logLevel: 'warn' });
    }
    cluster = await startCluster({ workers: 1, master: { webDir: WEB_DIR, apiKeys: [KEY] } });
    browser = await launchBrowser({ actionTimeoutMs: WAIT_MS });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await cluster?.close();
  }, 60_000);

  it('asks for the key, refuses a wrong one, connects with the right one and runs a task', async () => {
    const { page, problems } = await browser!.newPage();
    await page.goto(cluster!.httpUrl);
    const form = page.locator('#access-key-form');
    await form.waitFor();
    expect(await page.locator('#access-key-label').textContent()).toMatch(/needs an API key/);
    await page.locator('#access-key').fill('not-the-key');
    await page.locator('#access-key').press('Enter');
    await page.locator('#access-key-label', { hasText: 'refused' }).waitFor();
    await page.locator('#access-key').fill(KEY);
    await page.locator('#access-key').press('Enter');
    await page.locator('#connection[data-state="connected"]').waitFor();
    expect(await form.isHidden()).toBe(true);
    await page.locator('#kind option[value="echo"]').waitFor({ state: 'attached' });
    await page.locator('#kind').selectOption('echo');
    await page.locator('#message').fill('hello with a key');
    await page.locator('#message').press('Enter');
    const answer = page.locator('.turn--answer').first();
    await answer.locator('.answer-text', { hasText: 'hello with a key' }).waitFor();
    // Reloading keeps the key: no form this time.
    await page.reload();
    await page.locator('#connection[data-state="connected"]').waitFor();
    expect(await form.count()).toBe(0);
    // The refused handshakes show up as console errors of the websocket; nothing else (no CSP violation).
    expect(problems.errors.filter((e) => !/WebSocket|socket\.io|401|UNAUTHENTICATED/i.test(e))).toEqual([]);
    expect(problems.errors.some((e) => /Content Security Policy/i.test(e))).toBe(false);
  }, 120_000);
});
