/**
 * The dashboard against a master with API keys, in a real Chromium: the
 * static page loads, the API refuses it without a key, the page asks for
 * one; a wrong key is refused and said so, a user key is told it may not
 * see the dashboard, an admin key shows the workers and follows the event
 * stream (fetch with Authorization: the key never appears in a URL).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { startCluster } from '../helpers/cluster.js';
import { buildWebIfMissing, WEB_DIR } from '../helpers/web-build.js';

const ADMIN_KEY = 'tw-dash-admin-6b1f0e';
const USER_KEY = 'tw-dash-user-93ac2d';
const WAIT_MS = 30_000;

describe('dashboard with API keys', () => {
  let cluster: Awaited<ReturnType<typeof startCluster>> | undefined;
  let browser: TestBrowser | undefined;

  beforeAll(async () => {
    await buildWebIfMissing();
    cluster = await startCluster({ workers: 1, master: { webDir: WEB_DIR, apiKeys: [ADMIN_KEY, `user:${USER_KEY}`] } });
    browser = await launchBrowser({ actionTimeoutMs: WAIT_MS });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await cluster?.close();
  }, 60_000);

  it('asks for a key, refuses a wrong one and a user key, works with an admin key', async () => {
    const { page, problems } = await browser!.newPage();
    const urls: string[] = [];
    page.on('request', (r) => urls.push(r.url()));
    await page.goto(`${cluster!.httpUrl}/dashboard/#/workers`);
    await page.locator('#access-key-form').waitFor();
    expect(await page.locator('#access-key-label').textContent()).toMatch(/needs an API key/);
    expect(await page.locator('#stream-state').getAttribute('data-state')).toBe('unauthorized');

    await page.locator('#access-key').fill('not-the-key');
    await page.locator('#access-key').press('Enter');
    await page.locator('#access-key-label', { hasText: 'refused' }).waitFor();

    await page.locator('#access-key').fill(USER_KEY);
    await page.locator('#access-key').press('Enter');
    await page.locator('#access-key-label', { hasText: 'operator or admin key' }).waitFor();

    await page.locator('#access-key').fill(ADMIN_KEY);
    await page.locator('#access-key').press('Enter');
    await page.locator('#stream-state[data-state="live"]').waitFor();
    await page.locator(`#workers tr[data-worker-id="${cluster!.workers[0]!.id}"][data-state="online"]`).waitFor();
    expect(await page.locator('#access-key-form').isHidden()).toBe(true);

    // Reloading keeps the key (shared with the chat: the same localStorage entry).
    await page.reload();
    await page.locator('#stream-state[data-state="live"]').waitFor();
    expect(await page.locator('#access-key-form').count()).toBe(0);
    // Export with a key: fetched with the Authorization header, saved from memory.
    const res = await fetch(`${cluster!.httpUrl}/api/v1/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` },
      body: JSON.stringify({ kind: 'echo', input: { text: 'exported with a key' } }),
    });
    expect(res.status).toBe(202);
    await page.goto(`${cluster!.httpUrl}/dashboard/#/tasks?kind=echo`);
    await page.locator('#task-list tr[data-task-id]').first().waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#exports [data-format="csv"]').click()]);
    const csv = readFileSync(await download.path(), 'utf8');
    expect(csv.split('\r\n')[0]).toMatch(/^id,kind,/);
    expect(csv).toContain('exported with a key');
    for (const key of [ADMIN_KEY, USER_KEY]) expect(urls.filter((u) => u.includes(key))).toEqual([]);
    // The refused calls are logged by Chromium as failed resources (401/403); nothing else.
    expect(problems.errors.filter((e) => !/401|403|Unauthorized|Forbidden/i.test(e))).toEqual([]);
  }, 120_000);
});
