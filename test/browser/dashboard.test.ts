/**
 * The operator dashboard in a real Chromium against a real master with real
 * in-process workers (everything on port 0): live numbers on the overview,
 * a task's detail with its result, retry of a failed task and cancel of a
 * queued one from the UI, drain / resume of a worker (a drained worker gets
 * no work), an XSS payload in a task input shown as text, and no CSP
 * violation. Screenshots go to test-artifacts/.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type PageProblems, type TestBrowser } from '../helpers/browser.js';
import { startCluster, uniqueId, waitFor, waitForTask } from '../helpers/cluster.js';
import { createLogger } from '../../common/logger.js';
import { buildWebIfMissing, WEB_DIR } from '../helpers/web-build.js';
import { TaskFailure, type TaskContext, type TaskHandler } from '../../worker/handlers/task-handler.js';
import type { Worker } from '../../worker/worker.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ARTIFACTS = join(REPO, 'test-artifacts');
const CASE_TIMEOUT_MS = 120_000;
const WAIT_MS = 30_000;

declare const window: { readonly __xss?: unknown };

/** Fails while `failing` is set, then succeeds: a retried task runs again and succeeds. */
const flaky = { failing: true };
const flakyHandler: TaskHandler = {
  kind: 'flaky',
  async run(ctx: TaskContext) {
    ctx.log.info(`flaky attempt ${ctx.attempt} <b>not markup</b>`);
    if (flaky.failing) throw new TaskFailure('INTERNAL', 'flaky is failing on purpose');
    return { output: { ok: true, attempt: ctx.attempt } };
  },
};

/** Blocks until released or cancelled; served by a worker of capacity 1, so a second one stays queued. */
const releases: (() => void)[] = [];
const holdHandler: TaskHandler = {
  kind: 'hold',
  run(ctx: TaskContext) {
    return new Promise((resolve, reject) => {
      releases.push(() => resolve({ output: 'released' }));
      ctx.signal.addEventListener('abort', () => reject(new TaskFailure('CANCELLED', 'cancelled')), { once: true });
    });
  },
};

type Cluster = Awaited<ReturnType<typeof startCluster>>;

describe('operator dashboard', () => {
  let cluster: Cluster | undefined;
  let browser: TestBrowser | undefined;
  let plain: Worker | undefined;
  let holder: Worker | undefined;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    await buildWebIfMissing();
    cluster = await startCluster({ workers: 0, master: { webDir: WEB_DIR } });
    // A worker whose log lines travel over MQTT to the master's log store (the task page shows them).
    const plainId = uniqueId('worker');
    plain = await cluster.addWorker({ workerId: plainId, capacity: 4 }, { handlers: [flakyHandler], logger: createLogger({ source: plainId, destination: false }) });
    holder = await cluster.addWorker({ capacity: 1, kinds: ['hold', 'echo'] }, { handlers: [holdHandler] });
    await cluster.waitForWorkers(2, WAIT_MS);
    browser = await launchBrowser({ actionTimeoutMs: WAIT_MS });
  }, 120_000);

  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((c) => c.close()));
    // A case that failed half-way must not starve the next ones: free held tasks, resume drained workers.
    for (const r of releases.splice(0)) r();
    for (const w of [plain, holder]) {
      if (w && cluster?.master.registry.get(w.id)?.state === 'draining') await fetch(`${cluster.httpUrl}/api/v1/workers/${w.id}/resume`, { method: 'POST' });
    }
  });

  afterAll(async () => {
    for (const r of releases.splice(0)) r();
    await browser?.close();
    await cluster?.close();
  }, CASE_TIMEOUT_MS);

  async function open(hash = '#/', viewport?: { width: number; height: number }): Promise<{ page: Page; problems: PageProblems }> {
    const { page, context, problems } = await browser!.newPage(viewport ? { viewport } : {});
    contexts.push(context);
    await page.goto(`${cluster!.httpUrl}/dashboard/${hash}`);
    await page.locator('#stream-state[data-state="live"]').waitFor();
    return { page, problems };
  }

  async function submit(body: unknown): Promise<string> {
    const res = await fetch(`${cluster!.httpUrl}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect([200, 202]).toContain(res.status);
    return ((await res.json()) as { id: string }).id;
  }

  async function cardNumber(page: Page, field: string): Promise<number> {
    return Number((await page.locator(`#cards [data-field="${field}"] .card-value`).textContent())?.trim());
  }

  function screenshot(page: Page, name: string): Promise<Buffer> {
    mkdirSync(ARTIFACTS, { recursive: true });
    return page.screenshot({ path: join(ARTIFACTS, name), fullPage: true });
  }

  it('serves /dashboard and the overview shows live numbers that change when tasks run', async () => {
    const { page, problems } = await open();
    await page.locator('#cards [data-field="workers-online"] .card-value', { hasText: '2' }).waitFor();
    const before = await cardNumber(page, 'succeeded');
    for (let i = 0; i < 5; i++) await submit({ kind: 'echo', input: { text: `overview ${i}` } });
    // The stream delivers the finals; the card counts them without a reload.
    await waitFor(async () => (await cardNumber(page, 'succeeded')) >= before + 5, 'the succeeded card to grow by 5', WAIT_MS, 100);
    await page.locator('#latency-count', { hasText: /^([5-9]|\d\d+) finished/ }).waitFor();
    expect(await page.locator('#latency [data-metric="queue-wait"] [data-field="p95"]').textContent()).toMatch(/\d.*(ms|s)$/);
    // Two uPlot charts drawn on canvas.
    expect(await page.locator('#chart-throughput canvas').count()).toBe(1);
    expect(await page.locator('#chart-depth canvas').count()).toBe(1);
    // /dashboard without the slash reaches the same page.
    const res = await fetch(`${cluster!.httpUrl}/dashboard`, { redirect: 'follow' });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('taskwire dashboard');
    await screenshot(page, 'dashboard-overview.png');
    // Dark mode follows the system.
    await page.emulateMedia({ colorScheme: 'dark' });
    expect(await page.evaluate(() => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string }; document: { body: unknown } }).getComputedStyle((globalThis as unknown as { document: { body: unknown } }).document.body).backgroundColor)).toBe('rgb(17, 20, 24)');
    await screenshot(page, 'dashboard-overview-dark.png');
    // The keyboard reaches the pages: focus a navigation link, press Enter.
    await page.locator('[data-nav="workers"]').focus();
    await page.keyboard.press('Enter');
    await page.locator('#workers').waitFor();
    expect(await page.locator('[data-nav="workers"]').getAttribute('aria-current')).toBe('page');
    expect(problems.errors).toEqual([]);
  }, CASE_TIMEOUT_MS);

  it('the overview follows only the event types it draws; a page that shows every event follows them all from the last id', async () => {
    const { page, context } = await browser!.newPage();
    contexts.push(context);
    const streams: { url: string; lastId: string | undefined }[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/v1/events' && !r.url().includes('follow=false')) streams.push({ url: r.url(), lastId: r.headers()['last-event-id'] });
    });
    await page.goto(`${cluster!.httpUrl}/dashboard/#/`);
    await page.locator('#stream-state[data-state="live"]').waitFor();
    expect(streams.length).toBe(1);
    expect(new URL(streams[0]!.url).searchParams.get('type')?.split(',').sort()).toEqual(['task.cancelled', 'task.expired', 'task.failed', 'task.queued', 'task.succeeded']);
    const next = streams.splice(0);
    const before = await cardNumber(page, 'succeeded');
    await submit({ kind: 'echo', input: { text: 'before the move' } }); // an id for the follower to resume from
    await waitFor(async () => (await cardNumber(page, 'succeeded')) > before, 'its final on the overview', WAIT_MS, 100);
    await page.locator('[data-nav="workers"]').click();
    await page.locator('#workers').waitFor();
    await waitFor(() => streams.length > 0, 'the follower to reconnect for the workers page', WAIT_MS, 50);
    expect(next).toHaveLength(1);
    expect(new URL(streams[0]!.url).searchParams.get('type'), 'every type').toBeNull();
    expect(streams[0]!.lastId, 'resumed after the last id it had').toMatch(/^\d+$/);
    await page.locator('#stream-state[data-state="live"]').waitFor();
  }, CASE_TIMEOUT_MS);

  it('resumes the event stream with Last-Event-ID after the connection drops: events of the gap counted once', async () => {
    const { page } = await open();
    await page.locator('#cards [data-field="succeeded"]').waitFor();
    const before = await cardNumber(page, 'succeeded');
    const lastEventIds: (string | undefined)[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/v1/events' && !r.url().includes('follow=false')) lastEventIds.push(r.headers()['last-event-id']);
    });
    // Cut every HTTP connection (the stream included), then run tasks while the page reconnects.
    cluster!.master.http.server.closeAllConnections();
    // (Our own keep-alive sockets were cut too: retry a submit that met one; the idempotency key keeps it one task.)
    const once = (i: number) => submit({ kind: 'echo', input: { text: `gap ${i}` }, idempotency_key: `gap-${process.pid}-${i}` });
    const ids = await Promise.all([1, 2, 3, 4].map((i) => once(i).catch(() => once(i))));
    for (const id of ids) await waitForTask(cluster!.httpUrl, id, WAIT_MS);
    await waitFor(async () => (await cardNumber(page, 'succeeded')) >= before + 4, 'the gap events to arrive', WAIT_MS, 100);
    await page.locator('#stream-state[data-state="live"]').waitFor();
    // The reconnect named the last id it had seen.
    expect(lastEventIds.length).toBeGreaterThanOrEqual(1);
    expect(lastEventIds[0]).toMatch(/^\d+$/);
    // Poll a while longer: nothing is counted twice.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await cardNumber(page, 'succeeded')).toBe(before + 4);
  }, CASE_TIMEOUT_MS);

  it('lists a task submitted over REST; its page shows input, result, timeline and events; the list filters server side', async () => {
    const id = await submit({ kind: 'echo', input: { text: 'detail please' } });
    await waitForTask(cluster!.httpUrl, id, WAIT_MS);
    const { page, problems } = await open('#/tasks?kind=echo');
    const rowSel = page.locator(`#task-list tr[data-task-id="${id}"]`);
    await rowSel.waitFor();
    expect(await rowSel.getAttribute('data-status')).toBe('succeeded');
    // Filter by a status it does not have: it is gone (server side: the rows come from /api/v1/dashboard/tasks).
    await page.locator('#filter-status').selectOption('failed');
    await page.locator('#apply-filter').click();
    await page.waitForURL(/status=failed/);
    await page.locator('#task-list tr.empty, #task-list tr[data-status="failed"]').first().waitFor();
    expect(await page.locator(`#task-list tr[data-task-id="${id}"]`).count()).toBe(0);

    await page.goto(`${cluster!.httpUrl}/dashboard/#/tasks/${id}`);
    await page.locator(`#task[data-task-id="${id}"][data-status="succeeded"]`).waitFor();
    expect(JSON.parse((await page.locator('[data-field="input"]').textContent())!)).toEqual({ text: 'detail please' });
    expect(await page.locator('[data-field="result"]').textContent()).toContain('detail please');
    expect(await page.locator('#task [data-field="worker"] dd').textContent()).toMatch(/^worker-/);
    await page.locator('#timeline li[data-status="succeeded"]').waitFor();
    await page.locator('#task-events tr[data-type="task.succeeded"]').waitFor();
    expect(await page.locator('#task-events tr[data-type="task.queued"]').count()).toBe(1);
    await screenshot(page, 'dashboard-task.png');
    expect(problems.errors).toEqual([]);
  }, CASE_TIMEOUT_MS);

  it('finds a task by text from its input (server-side search), pages with Load more and exports the filter', async () => {
    const word = `needle${process.pid}x${Date.now() % 100000}`;
    const wanted = await submit({ kind: 'echo', input: { text: `a haystack with ${word} inside` } });
    const others = await Promise.all([1, 2, 3].map((i) => submit({ kind: 'echo', input: { text: `just hay ${i}` } })));
    for (const id of [wanted, ...others]) await waitForTask(cluster!.httpUrl, id, WAIT_MS);
    const { page, problems } = await open('#/tasks');
    await page.locator('#filter-q').fill(word);
    await page.locator('#apply-filter').click();
    await page.waitForURL(/q=needle/);
    await page.locator(`#task-list tr[data-task-id="${wanted}"]`).waitFor();
    await page.locator('#task-count', { hasText: '1 shown' }).waitFor();
    for (const id of others) expect(await page.locator(`#task-list tr[data-task-id="${id}"]`).count()).toBe(0);
    // Bulk actions select by status/kind/worker only: with a text search they say so instead of acting on more.
    await page.locator('#bulk-retry').click();
    await page.locator('#bulk', { hasText: 'clear the text search' }).waitFor();

    // Export of the filter (no API key here: a plain download the browser streams).
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#exports [data-format="jsonl"]').click()]);
    const path = await download.path();
    const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; input: unknown });
    expect(lines.map((l) => l.id)).toEqual([wanted]);
    expect(lines[0]!.input).toEqual({ text: `a haystack with ${word} inside` });

    // Paging: more than one page of sleep tasks; Load more appends the next page, newest first, no repeats.
    await Promise.all(Array.from({ length: 130 }, (_, i) => submit({ kind: 'sleep', input: { ms: 0 }, idempotency_key: `page-${process.pid}-${i}` })));
    await page.goto(`${cluster!.httpUrl}/dashboard/#/tasks?kind=sleep`);
    await page.locator('#task-count', { hasText: '100 shown' }).waitFor();
    await page.locator('#load-more').click();
    await page.locator('#task-count', { hasText: '130 shown' }).waitFor();
    const ids = await page.locator('#task-list tr[data-task-id]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-task-id')));
    expect(new Set(ids).size).toBe(ids.length);
    expect(problems.errors).toEqual([]);
  }, CASE_TIMEOUT_MS);

  it('retries a failed task from the UI (it runs again and succeeds) and cancels a queued one', async () => {
    flaky.failing = true;
    const failedId = await submit({ kind: 'flaky', input: {}, max_attempts: 1 });
    expect((await waitForTask(cluster!.httpUrl, failedId, WAIT_MS)).status).toBe('failed');
    flaky.failing = false;
    const { page, problems } = await open(`#/tasks/${failedId}`);
    await page.locator('#task[data-status="failed"]').waitFor();
    expect(await page.locator('[data-field="error"]').textContent()).toContain('flaky is failing on purpose');
    // The worker's log line about this task reached the master's log store and shows on the task's page, as text.
    await page.locator('#task-logs tr', { hasText: 'flaky attempt 1 <b>not markup</b>' }).waitFor();
    await page.locator('#task-retry').click();
    // The page moves to the new task, which runs and succeeds.
    await page.waitForURL((u) => !u.hash.includes(failedId));
    await page.locator('#task[data-status="succeeded"]').waitFor();
    const retryId = await page.locator('#task').getAttribute('data-task-id');
    expect(retryId).not.toBe(failedId);
    expect((await waitForTask(cluster!.httpUrl, retryId!, WAIT_MS)).status).toBe('succeeded');

    // hold #1 occupies the capacity-1 holder; hold #2 stays queued.
    const running = await submit({ kind: 'hold', input: {} });
    await waitFor(async () => ((await (await fetch(`${cluster!.httpUrl}/api/v1/tasks/${running}`)).json()) as { status: string }).status === 'running', 'hold #1 running', WAIT_MS, 20);
    const queued = await submit({ kind: 'hold', input: {} });
    // The overview's queue table counts it under its kind and priority.
    await page.goto(`${cluster!.httpUrl}/dashboard/#/`);
    await page.locator('#queue-by-kind tr[data-kind="hold"] [data-field="queued"]', { hasText: '1' }).waitFor();
    await page.goto(`${cluster!.httpUrl}/dashboard/#/tasks?status=queued`);
    // The queued one of the two: under load the holder may miss heartbeats and get hold #1 back, so which
    // of them waits can change; the list shows whichever is queued when it loads.
    const row = page.locator(`#task-list tr[data-status="queued"]:is([data-task-id="${queued}"], [data-task-id="${running}"])`).first();
    await row.waitFor();
    const waiting = (await row.getAttribute('data-task-id'))!;
    const other = waiting === queued ? running : queued;
    await row.locator('[data-action="cancel"]').click();
    await page.locator('#notice', { hasText: `Cancelled ${waiting}` }).waitFor();
    expect((await waitForTask(cluster!.httpUrl, waiting, WAIT_MS)).status).toBe('cancelled');
    for (const r of releases.splice(0)) r();
    expect((await waitForTask(cluster!.httpUrl, other, WAIT_MS)).status).toBe('succeeded');
    expect(problems.errors).toEqual([]);
  }, CASE_TIMEOUT_MS);

  it('retries the ticked tasks only (select some, Retry selected)', async () => {
    flaky.failing = true;
    const ids = await Promise.all([1, 2, 3].map((n) => submit({ kind: 'flaky', input: { pick: n }, max_attempts: 1 })));
    for (const id of ids) expect((await waitForTask(cluster!.httpUrl, id, WAIT_MS)).status).toBe('failed');
    flaky.failing = false;
    const { page, problems } = await open('#/tasks?status=failed&kind=flaky');
    for (const id of ids.slice(0, 2)) await page.locator(`#task-list tr[data-task-id="${id}"] input[data-select]`).check();
    await page.locator('#selected-count', { hasText: '2 selected' }).waitFor();
    await page.locator('#retry-selected', { hasText: '(2)' }).click();
    await page.locator('#notice', { hasText: 'Retried 2 of 2 selected tasks.' }).waitFor();
    const retried = (id: string) => fetch(`${cluster!.httpUrl}/api/v1/tasks/${id}/retry`, { method: 'POST' }).then(async (r) => ((await r.json()) as { created: boolean; task: { id: string } }));
    // Retrying again finds the retries the page made (created: false) for the two ticked, a new one for the third.
    const again = await Promise.all(ids.map(retried));
    expect(again.map((a) => a.created)).toEqual([false, false, true]);
    for (const a of again) expect((await waitForTask(cluster!.httpUrl, a.task.id, WAIT_MS)).status).toBe('succeeded');
    expect(problems.errors).toEqual([]);
  }, CASE_TIMEOUT_MS);

  it('shows the queue in the order tasks will run (priority first, then arrival), with cancel', async () => {
    const running = await submit({ kind: 'hold', input: { n: 0 } });
    await waitFor(async () => ((await (await fetch(`${cluster!.httpUrl}/api/v1/tasks/${running}`)).json()) as { status: string }).status === 'running', 'hold running', WAIT_MS, 20);
    const low1 = await submit({ kind: 'hold', input: { n: 1 } });
    const low2 = await submit({ kind: 'hold', input: { n: 2 } });
    const high = await submit({ kind: 'hold', input: { n: 3 }, priority: 5 });
    const { page, problems } = await open('#/queue?kind=hold');
    await page.locator(`#queue-list tr[data-task-id="${low2}"]`).waitFor();
    const order = await page.locator('#queue-list tr[data-task-id]').evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-task-id'), r.querySelector('[data-field="position"]')?.textContent]));
    expect(order).toEqual([[high, '1'], [low1, '2'], [low2, '3']]);
    await page.locator(`#queue-list tr[data-task-id="${high}"] [data-action="cancel"]`).click();
    await page.locator(`#queue-list tr[data-task-id="${low1}"][data-position="0"]`).waitFor();
    expect(await page.locator(`#queue-list tr[data-task-id="${high}"]`).count()).toBe(0);
    expect((await waitForTask(cluster!.httpUrl, high, WAIT_MS)).status).toBe('cancelled');
    await screenshot(page, 'dashboard-queue.png');
    for (const id of [low1, low2]) await fetch(`${cluster!.httpUrl}/api/v1/tasks/${id}/cancel`, { method: 'POST' });
    for (const r of releases.splice(0)) r();
    expect((await waitForTask(cluster!.httpUrl, running, WAIT_MS)).status).toBe('succeeded');
    expect(problems.errors).toEqual([]);
  }, CASE_TIMEOUT_MS);

  it('bulk-retries every failed task of a kind after a dry run says how many match', async () => {
    flaky.failing = true;
    const ids = [await submit({ kind: 'flaky', input: { n: 1 }, max_attempts: 1 }), await submit({ kind: 'flaky', input: { n: 2 }, max_attempts: 1 })];
    for (const id of ids) expect((await waitForTask(cluster!.httpUrl, id, WAIT_MS)).status).toBe('failed');
    flaky.failing = false;
    const { page, problems } = await open('#/tasks?status=failed&kind=flaky');
    await page.locator(`#task-list tr[data-task-id="${ids[1]}"]`).waitFor();
    await page.locator('#bulk-retry').click();
    const matched = Number(await page.locator('#bulk-matched').getAttribute('data-matched'));
    expect(matched).toBeGreaterThanOrEqual(2); // the earlier case's failed task was retried already: the server says whether it counts
    await page.locator('#bulk-confirm').click();
    await page.locator('#bulk-done').waitFor();
    await waitFor(async () => ((await (await fetch(`${cluster!.httpUrl}/api/v1/dashboard/tasks?kind=flaky&status=succeeded`)).json()) as { tasks: unknown[] }).tasks.length >= 3, 'the retried flaky tasks to succeed', WAIT_MS, 50);
    expect(problems.errors).toEqual([]);
  }, CASE_TIMEOUT_MS);

  it('drains a worker from the UI (it gets no work, shows draining) and resumes it', async () => {
    const { page, problems } = await open('#/workers', { width: 390, height: 844 });
    const row = page.locator(`#workers tr[data-worker-id="${plain!.id}"]`);
    await row.waitFor();
    expect(await row.getAttribute('data-state')).toBe('online');
    await row.locator('[data-action="drain"]').click();
    await page.locator(`#workers tr[data-worker-id="${plain!.id}"][data-state="draining"]`).waitFor();
    expect(await page.locator(`#workers tr[data-worker-id="${plain!.id}"] [data-field="state"]`).textContent()).toBe('draining');
    expect(cluster!.master.registry.get(plain!.id)?.state).toBe('draining');
    // Echo tasks now all go to the other worker.
    const ids = await Promise.all([1, 2, 3].map((i) => submit({ kind: 'echo', input: { text: `while draining ${i}` } })));
    for (const id of ids) expect((await waitForTask(cluster!.httpUrl, id, WAIT_MS)).worker_id).toBe(holder!.id);
    await screenshot(page, 'dashboard-workers-phone.png');
    expect(await page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.locator(`#workers tr[data-worker-id="${plain!.id}"] [data-action="resume"]`).click();
    await page.locator(`#workers tr[data-worker-id="${plain!.id}"][data-state="online"]`).waitFor();
    expect(cluster!.master.registry.get(plain!.id)?.state).toBe('online');
    expect(problems.errors).toEqual([]);
  }, CASE_TIMEOUT_MS);

  it("shows a worker's page: fields, recent tasks, and its log lines live as they arrive", async () => {
    const { page, problems } = await open(`#/workers/${plain!.id}`);
    await page.locator(`#worker-panel[data-worker-id="${plain!.id}"][data-state="online"]`).waitFor();
    expect(await page.locator('#worker-panel [data-field="language"] dd').textContent()).toMatch(/^typescript /);
    expect(await page.locator('#worker-panel [data-field="kinds"] dd').textContent()).toContain('flaky');
    await page.locator('#worker-log-state', { hasText: 'Following live' }).waitFor();
    // A task that runs now on this worker: its log line streams in, and the task shows among its recent ones.
    flaky.failing = false;
    const id = await submit({ kind: 'flaky', input: { live: true } });
    expect((await waitForTask(cluster!.httpUrl, id, WAIT_MS)).worker_id).toBe(plain!.id);
    await page.locator('#worker-logs tr', { hasText: 'flaky attempt 1' }).locator(`a[href="#/tasks/${id}"]`).waitFor();
    await page.locator(`#worker-tasks tr[data-task-id="${id}"]`).waitFor();
    await screenshot(page, 'dashboard-worker.png');
    expect(problems.errors).toEqual([]);
  }, CASE_TIMEOUT_MS);

  it('changes the placement strategy from the settings page, and the audit log shows who changed what', async () => {
    const before = (await (await fetch(`${cluster!.httpUrl}/api/v1/placement`)).json()) as { strategies: Record<string, string>; known: string[] };
    const from = before.strategies['default']!;
    const to = before.known.find((k) => k !== from && k === 'round-robin') ?? before.known.find((k) => k !== from)!;
    const { page, problems } = await open('#/settings');
    const defaultRow = page.locator('#placement tr[data-scope="default"]');
    await defaultRow.waitFor();
    expect(await defaultRow.getAttribute('data-strategy')).toBe(from);
    await defaultRow.locator('select').selectOption(to);
    await defaultRow.locator('[data-action="save-strategy"]').click();
    await page.locator(`#placement tr[data-scope="default"][data-strategy="${to}"]`).waitFor();
    expect(((await (await fetch(`${cluster!.httpUrl}/api/v1/placement`)).json()) as { strategies: Record<string, string> }).strategies['default']).toBe(to);
    const audit = page.locator('#audit tr[data-event-id]').first();
    await audit.locator('[data-field="after"]', { hasText: to }).waitFor();
    expect(await audit.locator('[data-field="before"]').textContent()).toBe(from);
    expect(await audit.locator('[data-field="scope"]').textContent()).toBe('default');
    expect(await audit.locator('[data-field="actor"]').textContent()).toBeTruthy();
    await screenshot(page, 'dashboard-settings.png');
    // Put it back for the other cases.
    await page.locator('#placement tr[data-scope="default"] select').selectOption(from);
    await page.locator('#placement tr[data-scope="default"] [data-action="save-strategy"]').click();
    await page.locator(`#placement tr[data-scope="default"][data-strategy="${from}"]`).waitFor();
    expect(problems.errors).toEqual([]);
  }, CASE_TIMEOUT_MS);

  it('shows each autoscaling decision of the event stream live on the settings page', async () => {
    const { page, problems } = await open('#/settings');
    await page.locator('#autoscale-decisions').waitFor();
    // The autoscaler publishes its decisions on the task event stream (autoscaler.ts); the page
    // reads them back from the durable stream and follows new ones.
    cluster!.master.tasks.events.publish(
      'autoscale.decision',
      { pool: 'echo', from: 1, to: 3, reason: 'queued 40 > 2 x 8 per worker', actuator: 'local', queued: 40, in_flight: 8, oldest_ms: 1200 },
      null,
    );
    const line = page.locator('#autoscale-decisions tr[data-event-id]').first();
    await line.locator('[data-field="pool"]', { hasText: 'echo' }).waitFor();
    expect(await line.locator('[data-field="workers"]').textContent()).toBe('1 → 3');
    expect(await line.locator('[data-field="reason"]').textContent()).toContain('queued 40');
    expect(await line.locator('[data-field="actuator"]').textContent()).toBe('local');
    await screenshot(page, 'dashboard-autoscale-decisions.png');
    expect(problems.errors).toEqual([]);
  }, CASE_TIMEOUT_MS);

  it('fits a phone-width screen on every page (no page-wide horizontal scroll)', async () => {
    const { page, problems } = await open('#/', { width: 360, height: 740 });
    const scrollWidth = () => page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth);
    for (const [hash, ready] of [
      ['#/', '#chart-throughput canvas'],
      ['#/workers', '#workers tr[data-worker-id]'],
      [`#/workers/${plain!.id}`, '#worker-panel'],
      ['#/queue', '#queue-list table'],
      ['#/tasks', '#task-list table'],
      ['#/settings', '#placement tr[data-scope="default"]'],
    ] as const) {
      await page.goto(`${cluster!.httpUrl}/dashboard/${hash}`);
      await page.locator(ready).first().waitFor();
      expect(await scrollWidth(), hash).toBeLessThanOrEqual(360);
    }
    await page.goto(`${cluster!.httpUrl}/dashboard/#/`);
    await page.locator('#chart-throughput canvas').waitFor();
    await screenshot(page, 'dashboard-overview-phone.png');
    expect(problems.errors).toEqual([]);
  }, CASE_TIMEOUT_MS);

  it('shows an XSS payload in a task input and result as plain text', async () => {
    const payload = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script><b>bold</b>';
    const id = await submit({ kind: 'echo', input: { text: payload } });
    await waitForTask(cluster!.httpUrl, id, WAIT_MS);
    const { page, problems } = await open(`#/tasks/${id}`);
    await page.locator('#task[data-status="succeeded"]').waitFor();
    expect(JSON.parse((await page.locator('[data-field="input"]').textContent())!)).toEqual({ text: payload });
    expect(await page.locator('[data-field="result"]').textContent()).toContain('<script>');
    expect(await page.locator('#view img, #view script, #view b').count()).toBe(0);
    await page.goto(`${cluster!.httpUrl}/dashboard/#/tasks?kind=echo`);
    await page.locator(`#task-list tr[data-task-id="${id}"]`).waitFor();
    expect(await page.locator('#view img, #view script, #view b').count()).toBe(0);
    expect(await page.evaluate(() => window.__xss)).toBeUndefined();
    expect(problems.errors.some((e) => /Content Security Policy/i.test(e))).toBe(false);
    expect(problems.errors).toEqual([]);
  }, CASE_TIMEOUT_MS);
});
