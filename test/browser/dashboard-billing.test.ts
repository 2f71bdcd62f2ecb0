/**
 * The dashboard's tenancy and billing pages in a real Chromium against a real
 * master with a real worker (port 0), signed in with API keys:
 * - Access (admin): create a tenant, a user and a key; the secret is shown
 *   once and works; dismissed it is nowhere in the page; revoke (confirmed)
 *   refuses it at once; the audit log shows each change; a tenant name with
 *   markup stays text.
 * - Limits (admin): a per-tenant rule added and saved in the page is in force
 *   (the tenant's next submit past it gets 429).
 * - Usage: totals and per-tenant lines equal the REST report, the CSV
 *   download equals the API's CSV; a budget set in the page warns (the
 *   warning appears live, with its tenant) and, past hard, refuses.
 * - An operator key: the admin pages are not in the navigation and refused
 *   when opened; usage shows, budgets and prices do not. A tenant's user key
 *   (no event stream) opens the usage page and sees its own tenant only.
 * Screenshots go to test-artifacts/.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type PageProblems, type TestBrowser } from '../helpers/browser.js';
import { startCluster, waitFor } from '../helpers/cluster.js';
import { buildWebIfMissing, WEB_DIR } from '../helpers/web-build.js';
import type { TaskView } from '../../common/task-view.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ARTIFACTS = join(REPO, 'test-artifacts');
const ADMIN = 'tw-billing-admin-5d0c7e21';
const OPERATOR = 'tw-billing-operator-83b1f4';
const WAIT_MS = 30_000;
const CASE_MS = 120_000;
const XSS = '<img src=x onerror="window.__xss=1">';

declare const window: { readonly __xss?: unknown };

describe('dashboard: access, limits and usage pages', () => {
  let cluster: Awaited<ReturnType<typeof startCluster>> | undefined;
  let browser: TestBrowser | undefined;
  const contexts: BrowserContext[] = [];

  const api = (path: string, body?: unknown, key = ADMIN, method = body === undefined ? 'GET' : 'POST') =>
    fetch(`${cluster!.httpUrl}${path}`, { method, headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: body === undefined ? undefined : JSON.stringify(body) });
  const echo = async (key: string, text: string): Promise<number> => {
    const r = await api('/api/v1/tasks', { kind: 'echo', input: { text } }, key);
    if (r.status !== 202) return r.status;
    const { id } = (await r.json()) as { id: string };
    await waitFor(async () => ((await (await api(`/api/v1/tasks/${id}`, undefined, key)).json()) as TaskView).status === 'succeeded', `echo ${text}`, WAIT_MS);
    return 202;
  };
  const newKey = async (tenant: string) => ((await (await api('/api/v1/admin/keys', { tenant, scopes: ['submit', 'read'] })).json()) as { key: { id: string }; secret: string });

  beforeAll(async () => {
    await buildWebIfMissing();
    cluster = await startCluster({ workers: 1, master: { webDir: WEB_DIR, apiKeys: [`admin:${ADMIN}`, `operator:${OPERATOR}`] } });
    browser = await launchBrowser({ actionTimeoutMs: WAIT_MS });
  }, CASE_MS);

  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((c) => c.close()));
  });

  afterAll(async () => {
    await browser?.close();
    await cluster?.close();
  }, CASE_MS);

  async function signIn(key: string, hash: string, viewport = { width: 1400, height: 900 }): Promise<{ page: Page; problems: PageProblems }> {
    const { page, context, problems } = await browser!.newPage({ viewport });
    contexts.push(context);
    await page.goto(`${cluster!.httpUrl}/dashboard/${hash}`);
    await page.locator('#access-key').fill(key);
    await page.locator('#access-key').press('Enter');
    await page.locator('#stream-state[data-state="live"]').waitFor();
    // The first load, before the key, was refused (401), and a key that is not an admin's is refused the admin probe (403): Chromium logs them; nothing else may fail.
    expect(problems.errors.every((e) => /401|403|Unauthorized|Forbidden/i.test(e))).toBe(true);
    problems.errors.length = 0;
    return { page, problems };
  }

  function screenshot(page: Page, name: string): Promise<Buffer> {
    mkdirSync(ARTIFACTS, { recursive: true });
    return page.screenshot({ path: join(ARTIFACTS, name), fullPage: true });
  }

  it('access: tenant, user and key created in the page; the secret shown once works; revoked, it is refused', async () => {
    const { page, problems } = await signIn(ADMIN, '#/');
    await page.locator('[data-nav="access"]').waitFor({ state: 'visible' });
    await page.locator('[data-nav="access"]').click();
    await page.locator('#keys').waitFor();
    await page.locator('#new-tenant-id').fill('acme');
    await page.locator('#new-tenant-name').fill(XSS);
    await page.locator('#create-tenant').click();
    await page.locator('#tenant-list tr[data-tenant="acme"]').waitFor();
    expect(await page.locator('#tenant-list tr[data-tenant="acme"] [data-field="name"]').textContent()).toBe(XSS);
    await page.locator('#new-user-tenant').selectOption('acme');
    await page.locator('#new-user-id').fill('alice');
    await page.locator('#create-user').click();
    await page.locator('#user-list tr[data-user="acme/alice"]').waitFor();

    await page.locator('#new-key-tenant').selectOption('acme');
    await page.locator('#new-key-user').fill('alice');
    await page.locator('#new-key-name').fill('ci runner');
    await page.locator('#new-key-kinds').fill('echo');
    await page.locator('#create-key').click();
    const secret = await page.locator('#new-secret').inputValue();
    expect(secret).toMatch(/^tw_/);
    const keyId = await page.locator('#secret-panel').getAttribute('data-key-id');
    const keyRow = page.locator(`#key-list tr[data-key-id="${keyId}"]`);
    await keyRow.locator('[data-field="status"]', { hasText: 'active' }).waitFor();
    expect(await keyRow.locator('[data-field="tenant"]').textContent()).toBe('acme');
    expect(await keyRow.locator('[data-field="allowed"]').textContent()).toBe('kinds: echo');
    // The secret works, for its tenant.
    expect(await echo(secret, 'from the new key')).toBe(202);
    expect(((await (await api('/api/v1/usage', undefined, secret)).json()) as { tenant: string }).tenant).toBe('acme');
    await screenshot(page, 'dashboard-access.png');
    // Dismissed, it is nowhere in the page or its storage.
    await page.locator('#dismiss-secret').click();
    expect(await page.locator('#new-secret').count()).toBe(0);
    expect(await page.content()).not.toContain(secret);
    expect(await page.evaluate(() => JSON.stringify({ ...(globalThis as unknown as { localStorage: Record<string, string> }).localStorage }))).not.toContain(secret);
    // Revoke asks to confirm, then refuses the key at once.
    await keyRow.locator('[data-action="revoke"]').click();
    await keyRow.locator('[data-action="confirm-revoke"]').click();
    await page.locator(`#key-list tr[data-key-id="${keyId}"][data-status="revoked"]`).waitFor();
    expect(await page.locator(`#key-list tr[data-key-id="${keyId}"] [data-field="trail"]`).textContent()).toMatch(/created .*revoked /);
    expect((await api('/api/v1/tasks', { kind: 'echo', input: { text: 'revoked' } }, secret)).status).toBe(401);
    // The audit log: who created the tenant, the user and the key, and revoked it (newest first).
    await page.locator('#access-audit tr[data-event-id]').nth(3).waitFor();
    expect(await page.locator('#access-audit tr[data-event-id] [data-field="target"]').allTextContents()).toEqual(['key', 'key', 'user', 'tenant']);
    expect(await page.locator('#access-audit').textContent()).not.toContain(secret);
    expect(await page.evaluate(() => window.__xss)).toBeUndefined();
    expect(problems.errors).toEqual([]);
  }, CASE_MS);

  it('limits: a per-tenant rule added and saved in the page is in force', async () => {
    const { page, problems } = await signIn(ADMIN, '#/limits');
    await page.locator('#limits').waitFor();
    await page.locator('#rule-scope').selectOption('tenant');
    await page.locator('#rule-id').fill('acme');
    await page.locator('#rule-requests_per_day').fill('2');
    await page.locator('#add-rule').click();
    await page.locator('#limits-state[data-dirty="true"]').waitFor();
    await page.locator('#save-limits').click();
    await page.locator('#limits-state[data-dirty="false"]').waitFor();
    expect(((await (await api('/api/v1/admin/limits')).json()) as { rules: unknown[] }).rules).toEqual([{ scope: 'tenant', id: 'acme', requests_per_day: 2 }]);
    const acme = await newKey('acme');
    expect(await echo(acme.secret, 'one')).toBe(202);
    expect(await echo(acme.secret, 'two')).toBe(202);
    const refused = await api('/api/v1/tasks', { kind: 'echo', input: { text: 'three' } }, acme.secret);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBeTruthy();
    expect(await echo(ADMIN, 'another tenant is not limited')).toBe(202);
    await screenshot(page, 'dashboard-limits.png');
    await page.locator('#limit-list tr[data-rule="0"] [data-action="remove-rule"]').click();
    await page.locator('#save-limits').click();
    await page.locator('#limits-state[data-dirty="false"]').waitFor();
    expect(((await (await api('/api/v1/admin/limits')).json()) as { rules: unknown[] }).rules).toEqual([]);
    expect(problems.errors).toEqual([]);
  }, CASE_MS);

  it('usage: totals, per-tenant lines and the CSV equal the API; a budget set in the page warns live and refuses past hard', async () => {
    expect((await api('/api/v1/admin/prices', { currency: 'EUR', prices: [{ kind: 'echo', per_request: 0.5 }] }, ADMIN, 'PUT')).status).toBe(200);
    const acme = await newKey('acme');
    for (let i = 0; i < 3; i++) expect(await echo(acme.secret, `acme ${i}`)).toBe(202);
    for (let i = 0; i < 2; i++) expect(await echo(ADMIN, `default ${i}`)).toBe(202);
    type Report = { totals: { attempts: number; cost: number; cpu_us: number; mem_mib_ms: number }; lines: { tenant: string; cost: number }[] };
    const report = async () => (await (await api('/api/v1/usage?period=day')).json()) as Report;

    const { page, problems } = await signIn(ADMIN, '#/usage?period=day');
    await page.locator('#usage-cards [data-field="attempts"]').waitFor();
    const r = await report();
    await page.locator('#usage-cards [data-field="attempts"] .card-value', { hasText: new RegExp(`^${r.totals.attempts}$`) }).waitFor();
    // The CPU time and memory the TypeScript worker reported, as the API sums them.
    expect(r.totals.cpu_us).toBeGreaterThan(0);
    expect(await page.locator('#usage-cards [data-field="cpu"] .card-value').textContent()).toBe(`${(r.totals.cpu_us / 1e6).toFixed(3)} s`);
    expect(await page.locator('#usage-cards [data-field="memory"] .card-value').textContent()).toBe(`${(r.totals.mem_mib_ms / 1024 / 1000).toFixed(3)} GiB\u00b7s`);
    await page.locator('#usage-by').selectOption('tenant');
    await page.locator('#usage-apply').click();
    const acmeRow = page.locator('#usage-lines tr[data-tenant="acme"]');
    await acmeRow.waitFor();
    const acmeCost = (await report()).lines.filter((l) => l.tenant === 'acme').reduce((s, l) => s + l.cost, 0);
    expect(Number(await acmeRow.getAttribute('data-cost'))).toBeCloseTo(acmeCost, 9);
    expect(await page.locator('#usage-lines tr[data-tenant]').count()).toBe(2);
    // The CSV download is the API's CSV.
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#usage-csv').click()]);
    const csv = readFileSync(await download.path(), 'utf8');
    expect(csv).toBe(await (await api('/api/v1/usage?period=day&format=csv')).text());
    expect(download.suggestedFilename()).toMatch(/^usage-all-\d{4}-\d{2}-\d{2}\.csv$/);
    // Prices in force.
    await page.locator('#prices tr[data-kind="echo"]').waitFor();

    // A budget for acme, set in the page: soft half a task away, hard one and a half.
    await page.locator('#budget-scope').selectOption('tenant');
    await page.locator('#budget-id').fill('acme');
    await page.locator('#budget-period').selectOption('day');
    await page.locator('#budget-soft').fill(String(acmeCost + 0.25));
    await page.locator('#budget-hard').fill(String(acmeCost + 0.75));
    await page.locator('#add-budget').click();
    await page.locator('#save-budgets').click();
    await page.locator('#budgets-state[data-dirty="false"]').waitFor();
    expect(((await (await api('/api/v1/admin/budgets')).json()) as { budgets: unknown[] }).budgets).toEqual([{ scope: 'tenant', id: 'acme', period: 'day', soft: acmeCost + 0.25, hard: acmeCost + 0.75 }]);
    await page.locator('#budget-list tr[data-id="acme"][data-state="ok"]').waitFor();
    expect(await echo(acme.secret, 'past soft')).toBe(202);
    // The warning arrives on the event stream, with the budget's tenant.
    await page.locator('#budget-warnings tr[data-tenant="acme"][data-scope="tenant"][data-id="acme"]').waitFor();
    await page.locator('#budget-list tr[data-id="acme"][data-state="warning"]').waitFor();
    expect(await echo(acme.secret, 'past hard')).toBe(202);
    await page.locator('#budget-list tr[data-id="acme"][data-state="exhausted"]').waitFor();
    const refused = await api('/api/v1/tasks', { kind: 'echo', input: { text: 'over budget' } }, acme.secret);
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/budget exhausted: tenant acme/);
    expect(await echo(ADMIN, 'default is not over budget')).toBe(202);
    await screenshot(page, 'dashboard-usage.png');
    expect(problems.errors).toEqual([]);
  }, CASE_MS);

  it('an operator key: no admin pages in the navigation, refused when opened; usage shows, budgets and prices do not', async () => {
    const { page, problems } = await signIn(OPERATOR, '#/usage');
    await page.locator('#usage-cards [data-field="cost"]').waitFor();
    await page.locator('#budgets-refused').waitFor();
    await page.locator('#prices-refused').waitFor();
    expect(await page.locator('#budget-form').count()).toBe(0);
    // Warnings are readable by the operator (the cluster's tenant `default` sees every tenant's).
    await page.locator('#budget-warnings tr[data-tenant="acme"]').first().waitFor();
    expect(await page.locator('[data-nav="usage"]').isVisible()).toBe(true);
    expect(await page.locator('[data-nav="access"]').isHidden()).toBe(true);
    expect(await page.locator('[data-nav="limits"]').isHidden()).toBe(true);
    await screenshot(page, 'dashboard-usage-operator.png');
    await page.goto(`${cluster!.httpUrl}/dashboard/#/access`);
    await page.locator('#admin-refused').waitFor();
    expect(await page.locator('#key-form').count()).toBe(0);
    await page.goto(`${cluster!.httpUrl}/dashboard/#/limits`);
    await page.locator('#admin-refused').waitFor();
    // Still signed in: refused pages do not ask for another key.
    expect(await page.locator('#access-key-form').isHidden()).toBe(true);
    // The refused admin calls are logged by Chromium as failed resources (403); nothing else.
    expect(problems.errors.filter((e) => !/403|Forbidden/i.test(e))).toEqual([]);
  }, CASE_MS);

  it("a tenant's user key opens the usage page: its own tenant's usage only, without the event stream", async () => {
    const user = await newKey('acme');
    const { page, context, problems } = await browser!.newPage({ viewport: { width: 1400, height: 900 } });
    contexts.push(context);
    await page.goto(`${cluster!.httpUrl}/dashboard/#/usage?period=day`);
    await page.locator('#access-key').fill(user.secret);
    await page.locator('#access-key').press('Enter');
    await page.locator('#usage-lines tr[data-tenant]').first().waitFor();
    expect(await page.locator('#stream-state').getAttribute('data-state')).toBe('stopped');
    expect(await page.locator('#usage-range').textContent()).toContain('tenant acme');
    const tenants = await page.locator('#usage-lines tr[data-tenant]').evaluateAll((rows) => rows.map((r) => (r as unknown as { dataset: { tenant: string } }).dataset.tenant));
    expect(new Set(tenants)).toEqual(new Set(['acme']));
    const own = (await (await api('/api/v1/usage?period=day', undefined, user.secret)).json()) as { totals: { attempts: number } };
    expect(Number(await page.locator('#usage-cards [data-field="attempts"] .card-value').textContent())).toBe(own.totals.attempts);
    await page.locator('#budgets-refused').waitFor();
    expect(problems.errors.filter((e) => !/401|403|Unauthorized|Forbidden/i.test(e))).toEqual([]);
  }, CASE_MS);

  it("a tenant's admin key edits its own tenant's limits and budgets next to the cluster admin's caps; they are in force", async () => {
    expect((await api('/api/v1/admin/tenants', { id: 'initech' })).status).toBe(201);
    expect((await api('/api/v1/admin/limits', { rules: [{ scope: 'tenant', id: 'initech', requests_per_day: 50 }] }, ADMIN, 'PUT')).status).toBe(200);
    expect((await api('/api/v1/admin/budgets', { budgets: [{ scope: 'tenant', id: 'initech', period: 'month', hard: 90 }] }, ADMIN, 'PUT')).status).toBe(200);
    const admin = (await (await api('/api/v1/admin/keys', { tenant: 'initech', scopes: ['submit', 'read', 'operate', 'admin'] })).json()) as { secret: string };
    const user = await newKey('initech');
    const { page, problems } = await signIn(admin.secret, '#/limits');
    await page.locator('#limits[data-tenant="initech"]').waitFor();
    expect(await page.locator('#limit-caps tr[data-cap="0"] [data-field="requests_per_day"]').textContent()).toBe('50');
    await page.locator('#rule-scope').selectOption('key');
    await page.locator('#rule-id').fill(user.key.id);
    await page.locator('#rule-requests_per_day').fill('1');
    await page.locator('#add-rule').click();
    await page.locator('#save-limits').click();
    await page.locator('#limits-state[data-dirty="false"]').waitFor();
    expect(((await (await api('/api/v1/admin/tenants/initech/limits')).json()) as { rules: unknown[] }).rules).toEqual([{ scope: 'key', id: user.key.id, requests_per_day: 1 }]);
    expect(await echo(user.secret, 'initech one')).toBe(202);
    expect((await api('/api/v1/tasks', { kind: 'echo', input: { text: 'initech two' } }, user.secret)).status).toBe(429);
    // Above the cap: the master's 400 names the field, nothing changes.
    await page.locator('#rule-scope').selectOption('tenant');
    await page.locator('#rule-requests_per_day').fill('51');
    await page.locator('#add-rule').click();
    await page.locator('#save-limits').click();
    await page.locator('#notice', { hasText: 'rules.1.requests_per_day' }).waitFor();
    await screenshot(page, 'dashboard-tenant-limits.png');
    await page.goto(`${cluster!.httpUrl}/dashboard/#/usage?period=day`);
    await page.locator('#budgets-tenant[data-tenant="initech"]').waitFor();
    await page.locator('#budget-scope').selectOption('key');
    await page.locator('#budget-period').selectOption('day');
    await page.locator('#budget-hard').fill('5');
    await page.locator('#add-budget').click();
    await page.locator('#save-budgets').click();
    await page.locator('#budgets-state[data-dirty="false"]').waitFor();
    expect(((await (await api('/api/v1/admin/tenants/initech/budgets')).json()) as { budgets: unknown[] }).budgets).toEqual([{ scope: 'key', period: 'day', hard: 5 }]);
    expect(problems.errors.filter((e) => !/400|403|Forbidden|Bad Request/i.test(e))).toEqual([]);
  }, CASE_MS);

  it('fits a phone-width screen (no page-wide horizontal scroll) on the usage, access and limits pages', async () => {
    const { page, problems } = await signIn(ADMIN, '#/usage', { width: 360, height: 740 });
    const scrollWidth = () => page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth);
    for (const [hash, ready] of [
      ['#/usage?period=day', '#usage-lines table'],
      ['#/access', '#key-list table'],
      ['#/limits', '#limit-list table'],
    ] as const) {
      await page.goto(`${cluster!.httpUrl}/dashboard/${hash}`);
      await page.locator(ready).first().waitFor();
      expect(await scrollWidth(), hash).toBeLessThanOrEqual(360);
    }
    await page.goto(`${cluster!.httpUrl}/dashboard/#/usage?period=day`);
    await page.locator('#usage-lines table').waitFor();
    await screenshot(page, 'dashboard-usage-phone.png');
    expect(problems.errors).toEqual([]);
  }, CASE_MS);
});
