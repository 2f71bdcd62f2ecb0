/**
 * The dashboard's Batches page (`#/batches`) in a real Chromium against a
 * real in-process master with an in-process worker serving `image` (sharp),
 * everything on port 0 and 127.0.0.1; batches submitted over REST. Two
 * batches (one with a failing image) are listed newest first with their
 * counts and progress; the status filter narrows the list (and says so when
 * nothing matches); a running batch updates to done without a reload; Load
 * more pages on with the cursor, without repeats; a row's link opens that
 * batch's page. At 360 px the page has no page-wide horizontal scroll, and it
 * follows dark mode. The pure folding of a re-read first page into the loaded
 * rows (batch-list.ts) is checked without a browser. Screenshots in
 * test-artifacts/: dashboard-batches.png, dashboard-batches-phone.png,
 * dashboard-batches-dark.png.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type PageProblems, type TestBrowser } from '../helpers/browser.js';
import { startCluster, waitFor } from '../helpers/cluster.js';
import { WEB_DIR, buildWebIfMissing } from '../helpers/web-build.js';
import { ImageHandler } from '../../worker/handlers/image/image-handler.js';
import type { TaskContext, TaskOutput } from '../../worker/handlers/task-handler.js';
import { foldFirstPage, type BatchSummary } from '../../web/src/dashboard/batch-list.js';
import { parseRoute } from '../../web/src/dashboard/routes.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ARTIFACTS = join(REPO, 'test-artifacts');
const WAIT_MS = 30_000;
const CASE_TIMEOUT_MS = 120_000;

type Cluster = Awaited<ReturnType<typeof startCluster>>;

/** The real image handler, held while `hold.until` is pending: a batch stays running for as long as the test needs. */
const hold: { until: Promise<void> | undefined } = { until: undefined };
class HeldImageHandler extends ImageHandler {
  override async run(ctx: TaskContext): Promise<TaskOutput> {
    await hold.until;
    return super.run(ctx);
  }
}

const png = (size: number, shade: number) => sharp({ create: { width: size, height: size, channels: 3, background: { r: shade, g: 90, b: 160 } } }).png().toBuffer();

describe('the batches route', () => {
  it('#/batches is the list (with its filter), #/batches/<id> a batch', () => {
    expect(parseRoute('#/batches').page).toBe('batches');
    expect(parseRoute('#/batches').id).toBeUndefined();
    expect(parseRoute('#/batches?status=failed').params.get('status')).toBe('failed');
    expect(parseRoute('#/batches/batch-1')).toMatchObject({ page: 'batch', id: 'batch-1' });
  });
});

describe('foldFirstPage', () => {
  const b = (id: string, created: number, status: BatchSummary['status'] = 'succeeded'): BatchSummary => ({
    id,
    status,
    created_at_ms: created,
    finished_at_ms: null,
    counts: { total: 1, queued: 0, running: 0, succeeded: 1, failed: 0 },
    ops: [],
  });

  it('replaces the rows in the first page range and keeps the older ones with their cursor', () => {
    const loaded = { rows: [b('b4', 40, 'running'), b('b3', 30), b('b2', 20), b('b1', 10)], cursor: 'after-b1' };
    // A new batch b5: the first page of two now ends at b4 (updated), b3..b1 stay as loaded.
    const first = [b('b5', 50), b('b4', 40)];
    expect(foldFirstPage(loaded, first, 'after-b4')).toEqual({ rows: [first[0], first[1], loaded.rows[1], loaded.rows[2], loaded.rows[3]], cursor: 'after-b1' });
    // Same created time: the id orders (descending), as the route does.
    expect(foldFirstPage({ rows: [b('b-c', 5), b('b-a', 5)], cursor: 'x' }, [b('b-c', 5)], 'after-c').rows.map((r) => r.id)).toEqual(['b-c', 'b-a']);
  });

  it('drops a row that left the first page range (filtered out or pruned) and ends the list without a next page', () => {
    const loaded = { rows: [b('b3', 30, 'running'), b('b2', 20, 'running')], cursor: null };
    expect(foldFirstPage(loaded, [b('b2', 20, 'running')], null)).toEqual({ rows: [b('b2', 20, 'running')], cursor: null });
    expect(foldFirstPage(loaded, [], null)).toEqual({ rows: [], cursor: null });
  });

  it('takes the first page cursor when no loaded row is older than it', () => {
    expect(foldFirstPage({ rows: [b('b2', 20)], cursor: 'after-b2' }, [b('b3', 30), b('b2', 20)], 'after-b2-new')).toEqual({ rows: [b('b3', 30), b('b2', 20)], cursor: 'after-b2-new' });
  });
});

describe('dashboard: image batches list', () => {
  let cluster: Cluster | undefined;
  let browser: TestBrowser | undefined;
  const contexts: BrowserContext[] = [];
  let release: () => void = () => undefined;

  beforeAll(async () => {
    await buildWebIfMissing();
    cluster = await startCluster({ workers: 0, master: { webDir: WEB_DIR } });
    await cluster.addWorker({ kinds: ['image'], capacity: 2 }, { handlers: [new HeldImageHandler()] });
    await cluster.waitForWorkers(1, WAIT_MS);
    browser = await launchBrowser({ actionTimeoutMs: WAIT_MS });
    mkdirSync(ARTIFACTS, { recursive: true });
  }, CASE_TIMEOUT_MS);

  afterAll(async () => {
    release();
    await Promise.all(contexts.splice(0).map((c) => c.close()));
    await browser?.close();
    await cluster?.close();
  }, CASE_TIMEOUT_MS);

  async function api(method: string, path: string, body?: unknown, raw?: Buffer): Promise<any> {
    const res = await fetch(`${cluster!.httpUrl}${path}`, {
      method,
      headers: raw ? { 'content-type': 'image/png' } : body === undefined ? {} : { 'content-type': 'application/json' },
      body: raw ? new Uint8Array(raw) : body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json();
    expect(res.status, JSON.stringify(json)).toBeLessThan(300);
    return json;
  }

  /** A batch through REST: the images uploaded as blobs, then `POST /api/v1/images`. */
  async function submit(images: { name: string; png: Buffer }[], ops: unknown[]): Promise<string> {
    const refs = [];
    for (const img of images) refs.push({ blob: (await api('POST', '/api/v1/blobs', undefined, img.png)).id as string, name: img.name });
    return (await api('POST', '/api/v1/images', { images: refs, ops })).id as string;
  }

  async function finishedBatch(id: string): Promise<{ status: string }> {
    let last: { status: string } = { status: 'running' };
    await waitFor(async () => (last = await api('GET', `/api/v1/batches/${id}`)).status !== 'running', `batch ${id} to finish`, WAIT_MS, 50);
    return last;
  }

  async function open(hash: string, viewport?: { width: number; height: number }): Promise<{ page: Page; problems: PageProblems }> {
    const { page, context, problems } = await browser!.newPage(viewport ? { viewport } : {});
    contexts.push(context);
    await page.goto(`${cluster!.httpUrl}/dashboard/${hash}`);
    await page.locator('#stream-state[data-state="live"]').waitFor();
    return { page, problems };
  }

  const listed = (page: Page) => page.locator('#batch-list tr[data-batch-id]').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-batch-id')));
  const cell = (page: Page, id: string, field: string) => page.locator(`#batch-list tr[data-batch-id="${id}"] [data-field="${field}"]`);

  it('lists batches newest first with counts and progress, filters by status, follows a running batch, pages on and opens a batch', async () => {
    // Two batches, one after the other: the first succeeds, the second has one image its crop does not fit (failed).
    const first = await submit([{ name: 'a.png', png: await png(24, 10) }, { name: 'b.png', png: await png(24, 20) }], [{ op: 'grayscale' }]);
    expect((await finishedBatch(first)).status).toBe('succeeded');
    const second = await submit([{ name: 'big.png', png: await png(32, 30) }, { name: 'small.png', png: await png(8, 40) }], [{ op: 'crop', left: 0, top: 0, width: 16, height: 16 }, { op: 'format', format: 'webp' }]);
    expect((await finishedBatch(second)).status).toBe('failed');

    const { page, problems } = await open('#/batches');
    expect(await page.locator('nav a[data-nav="batches"]').getAttribute('aria-current')).toBe('page');
    await page.locator('#batch-list tr[data-batch-id]').nth(1).waitFor();
    expect(await listed(page)).toEqual([second, first]);
    const counts = async (id: string) =>
      Object.fromEntries(await Promise.all(['status', 'succeeded', 'failed', 'running', 'queued', 'total'].map(async (f) => [f, (await cell(page, id, f).textContent())?.trim()])));
    expect(await counts(first)).toEqual({ status: 'succeeded', succeeded: '2', failed: '0', running: '0', queued: '0', total: '2' });
    expect(await counts(second)).toEqual({ status: 'failed', succeeded: '1', failed: '1', running: '0', queued: '0', total: '2' });
    expect(await cell(page, second, 'chain').textContent()).toBe('crop → format');
    // The bar is a labelled <progress> (role progressbar) with value and max.
    const bar = page.getByRole('progressbar', { name: `Batch ${second}: 2 of 2 images finished` });
    expect(await bar.evaluate((p) => [(p as unknown as { value: number }).value, (p as unknown as { max: number }).max])).toEqual([2, 2]);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-batches.png'), fullPage: true });

    // The status filter narrows the list (kept in the hash); nothing matching says so.
    await page.locator('#batch-filter-status').selectOption('failed');
    await page.waitForURL(/#\/batches\?status=failed$/);
    await waitFor(async () => JSON.stringify(await listed(page)) === JSON.stringify([second]), 'only the failed batch', WAIT_MS, 50);
    await page.locator('#batch-filter-status').selectOption('succeeded');
    await waitFor(async () => JSON.stringify(await listed(page)) === JSON.stringify([first]), 'only the succeeded batch', WAIT_MS, 50);
    await page.locator('#batch-filter-status').selectOption('running');
    await page.locator('#batch-list tr.empty', { hasText: 'No image batch is running.' }).waitFor();
    await page.locator('#batch-filter-status').selectOption('');
    await waitFor(async () => (await listed(page)).length === 2, 'both batches again', WAIT_MS, 50);

    // A running batch (the worker held): listed as running after a reload, then done without one.
    hold.until = new Promise<void>((resolve) => (release = resolve));
    const running = await submit([{ name: 'slow.png', png: await png(24, 50) }], [{ op: 'grayscale' }]);
    await page.reload();
    await page.locator(`#batch-list tr[data-batch-id="${running}"][data-status="running"]`).waitFor();
    expect(await listed(page)).toEqual([running, second, first]);
    expect(await cell(page, running, 'succeeded').textContent()).toBe('0');
    release();
    hold.until = undefined;
    await page.locator(`#batch-list tr[data-batch-id="${running}"][data-status="succeeded"]`).waitFor({ timeout: WAIT_MS });
    expect(await cell(page, running, 'succeeded').textContent()).toBe('1');
    expect(await page.getByRole('progressbar', { name: `Batch ${running}: 1 of 1 images finished` }).count()).toBe(1);

    // 50 more (the same image and chain again: answered from the recorded output, no task): a page of 50, then Load more.
    const more: string[] = [];
    for (let i = 0; i < 50; i++) more.push(await submit([{ name: `again-${i}.png`, png: await png(24, 10) }], [{ op: 'grayscale' }]));
    await page.reload();
    await page.locator('#batch-list tr[data-batch-id]').nth(49).waitFor();
    expect(await listed(page)).toEqual([...more].reverse());
    expect(await page.locator('#batch-count').textContent()).toBe('50 shown');
    await page.locator('#batch-load-more').click();
    await page.locator('#batch-count', { hasText: '53 shown' }).waitFor();
    expect(await listed(page)).toEqual([...[...more].reverse(), running, second, first]);
    expect(await page.locator('#batch-load-more').count()).toBe(0);

    // A row's link opens that batch's page.
    await page.locator(`#batch-list tr[data-batch-id="${second}"] [data-field="id"] a`).click();
    await page.waitForURL(new RegExp(`#/batches/${second}$`));
    await page.locator(`#batch-panel[data-batch-id="${second}"][data-status="failed"]`).waitFor();
    expect(await page.locator('nav a[data-nav="batches"]').getAttribute('aria-current')).toBe('page');
    expect(problems.errors).toEqual([]);
  }, CASE_TIMEOUT_MS);

  it('fits a phone-width screen and follows dark mode', async () => {
    const { page, problems } = await open('#/batches', { width: 360, height: 740 });
    await page.locator('#batch-list tr[data-batch-id]').first().waitFor();
    const scrollWidth = () => page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth);
    expect(await scrollWidth()).toBeLessThanOrEqual(360);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-batches-phone.png') });
    await page.emulateMedia({ colorScheme: 'dark' });
    const bodyBackground = () =>
      page.evaluate(() => {
        const g = globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string }; document: { body: unknown } };
        return g.getComputedStyle(g.document.body).backgroundColor;
      });
    expect(await bodyBackground()).toBe('rgb(17, 20, 24)');
    await page.setViewportSize({ width: 1100, height: 760 });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-batches-dark.png') });
    expect(problems.errors).toEqual([]);
  }, CASE_TIMEOUT_MS);
});
