/**
 * The image UI in a real browser (Debian Chromium through playwright-core),
 * on a real in-process master with an in-process worker serving `image`
 * (sharp): in the chat, picking the `image` kind shows the file picker and
 * the chain editor; several images and a chain go up as one batch, the bubble
 * shows progress, before/after thumbnails and downloads (an output and the
 * ZIP); a bad value is refused before anything is sent. A chain built with
 * the keyboard in its own order (add, move up, remove) is sent in exactly
 * that order (the request's `ops` and the batch's, read back); so is one
 * reordered by dragging steps (HTML5 drag and drop with the mouse and with
 * dragTo; the drop line shows where the step goes). The
 * dashboard's batch page (`#/batches/<id>`) shows the progress, counts and
 * each image's thumbnails, worker and download. Screenshots in
 * test-artifacts/.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type PageProblems, type TestBrowser } from '../helpers/browser.js';
import { startCluster } from '../helpers/cluster.js';
import { WEB_DIR, buildWebIfMissing } from '../helpers/web-build.js';
import { ImageHandler } from '../../worker/handlers/image/image-handler.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ARTIFACTS = join(REPO, 'test-artifacts');
const WAIT_MS = 60_000;

// Browser globals used inside page.waitForFunction (the Node tsconfig has no DOM lib).
declare const document: {
  querySelectorAll(selector: string): ArrayLike<{ naturalWidth: number; complete: boolean }>;
  activeElement: { getAttribute(name: string): string | null } | null;
};

type Cluster = Awaited<ReturnType<typeof startCluster>>;

async function png(w: number, h: number, r: number): Promise<Buffer> {
  // A colour gradient with a dot pattern, so before (colour) and after (grey, blurred) look different.
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      const dot = (x >> 4) % 2 === (y >> 4) % 2 ? 40 : 0;
      px[o] = Math.min(255, Math.round((x / w) * 255) + dot);
      px[o + 1] = Math.round((y / h) * 255);
      px[o + 2] = r;
    }
  }
  return sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer();
}

describe('the image UI', () => {
  let cluster: Cluster | undefined;
  let browser: TestBrowser | undefined;
  const contexts: BrowserContext[] = [];
  let batchId = '';

  beforeAll(async () => {
    await buildWebIfMissing();
    cluster = await startCluster({ workers: 0, master: { webDir: WEB_DIR } });
    await cluster.addWorker({ kinds: ['echo', 'image'], capacity: 2 }, { handlers: [new ImageHandler()] });
    await cluster.waitForWorkers(1, 30_000);
    browser = await launchBrowser({ actionTimeoutMs: WAIT_MS });
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(contexts.splice(0).map((c) => c.close()));
    await browser?.close();
    await cluster?.close();
  }, 60_000);

  /** The chain's steps as the page lists them. */
  const steps = (page: Page) => page.locator('#image-chain > li').evaluateAll((lis) => lis.map((li) => (li as unknown as { dataset: { op: string } }).dataset.op));
  const field = (page: Page, op: string, name: string) => page.locator(`#image-chain > li[data-op="${op}"] [data-field="${name}"]`);
  const focused = (page: Page) => page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? null);

  async function open(path: string, before?: (page: Page) => Promise<unknown>): Promise<{ page: Page; problems: PageProblems }> {
    const { page, context, problems } = await browser!.newPage({ viewport: { width: 1200, height: 900 } });
    contexts.push(context);
    await before?.(page);
    await page.goto(`${cluster!.httpUrl}${path}`);
    return { page, problems };
  }

  it('chat: pick image, upload three images with a chain, see progress, before/after thumbnails, and download', async () => {
    const { page, problems } = await open('/');
    await page.locator('#connection[data-state="connected"]').waitFor();
    await page.locator('#kind option[value="image"]').waitFor({ state: 'attached' });
    expect(await page.locator('#image-batch-field').isVisible()).toBe(false);
    await page.locator('#kind').selectOption('image');
    await page.locator('#image-batch-field').waitFor({ state: 'visible' });

    expect(await steps(page)).toEqual(['resize', 'blur']);

    // A bad value is refused in the page, naming the step and field, which gets the focus; nothing is sent.
    await field(page, 'blur', 'sigma').fill('0.1');
    await page.locator('#image-files').setInputFiles([{ name: 'a.png', mimeType: 'image/png', buffer: await png(320, 240, 40) }]);
    await page.locator('#send').click();
    await page.locator('#composer-hint', { hasText: /^step 2 blur sigma: / }).waitFor();
    expect(await page.locator('.image-batch').count()).toBe(0);
    expect(await focused(page)).toBe('step 2 (blur) sigma');
    expect(await field(page, 'blur', 'sigma').getAttribute('aria-invalid')).toBe('true');

    // Three images: resize 160x120, blur 1.5, grayscale (added at the end), webp.
    await field(page, 'blur', 'sigma').fill('1.5');
    expect(await field(page, 'blur', 'sigma').getAttribute('aria-invalid')).toBe(null);
    await field(page, 'resize', 'width').fill('160');
    await field(page, 'resize', 'height').fill('120');
    await page.locator('#image-add-op').selectOption('grayscale');
    await page.locator('#image-add').click();
    expect(await steps(page)).toEqual(['resize', 'blur', 'grayscale']);
    await page.locator('#image-format').selectOption('webp');
    await page.locator('#image-files').setInputFiles(
      await Promise.all(['sea.png', 'sky.png', 'sand.png'].map(async (name, i) => ({ name, mimeType: 'image/png', buffer: await png(400 + i * 40, 300, 60 + i * 70) }))),
    );
    await page.locator('#send').click();
    const bubble = page.locator('.image-batch');
    await bubble.waitFor();
    expect(await bubble.locator('.batch-title').textContent()).toMatch(/3 images · resize 160×120 → blur 1\.5 → grayscale → webp/);
    await page.locator('.image-batch[data-status="succeeded"]').waitFor({ timeout: WAIT_MS });
    batchId = (await bubble.getAttribute('data-batch-id')) ?? '';
    expect(batchId).toMatch(/^batch-/);
    expect(await bubble.locator('.batch-summary').textContent()).toMatch(/3 done, 0 running, 0 queued, 0 failed of 3/);
    expect(await bubble.locator('progress').evaluate((p) => [(p as unknown as { value: number }).value, (p as unknown as { max: number }).max])).toEqual([3, 3]);
    const cards = bubble.locator('.batch-image');
    expect(await cards.count()).toBe(3);
    expect(await cards.nth(0).locator('.image-meta').textContent()).toMatch(/^160×120 · /);
    // Every before and after thumbnail loaded (fetched as blobs, shown from object URLs).
    await page.waitForFunction(() => {
      const imgs = document.querySelectorAll('.image-batch img.thumb');
      return imgs.length === 6 && Array.from(imgs).every((i) => i.complete && i.naturalWidth > 0);
    }, undefined, { timeout: WAIT_MS });
    await bubble.screenshot({ path: join(ARTIFACTS, 'chat-image-batch.png') });

    // Download one output: a webp of 160x120.
    const [download] = await Promise.all([page.waitForEvent('download'), cards.nth(1).locator('[data-action="download"]').click()]);
    expect(download.suggestedFilename()).toBe('sky.webp');
    const meta = await sharp(readFileSync((await download.path())!)).metadata();
    expect(meta).toMatchObject({ format: 'webp', width: 160, height: 120 });
    // And the ZIP of the batch.
    const [zip] = await Promise.all([page.waitForEvent('download'), bubble.locator('[data-action="zip"]').click()]);
    expect(zip.suggestedFilename()).toBe(`${batchId}.zip`);
    expect(readFileSync((await zip.path())!).subarray(0, 2).toString()).toBe('PK');
    expect(problems.errors).toEqual([]);
  }, 180_000);

  /** The chat with kind image picked; the page keeps the `ops` field of every form it POSTs in `sentImageOps`. */
  const openImageChat = async () => {
    const opened = await open('/', (p) =>
      p.addInitScript(() => {
        // Runs in the page before its own script.
        const g = globalThis as unknown as { sentImageOps: string[]; fetch: (u: unknown, init?: { body?: unknown }) => Promise<unknown>; FormData: new () => { get(n: string): unknown } };
        g.sentImageOps = [];
        const real = g.fetch.bind(globalThis);
        g.fetch = (u, init) => {
          if (init?.body instanceof g.FormData) g.sentImageOps.push(String((init.body as { get(n: string): unknown }).get('ops')));
          return real(u, init);
        };
      }),
    );
    const { page } = opened;
    await page.locator('#connection[data-state="connected"]').waitFor();
    await page.locator('#kind option[value="image"]').waitFor({ state: 'attached' });
    await page.locator('#kind').selectOption('image');
    await page.locator('#image-batch-field').waitFor({ state: 'visible' });
    return opened;
  };

  it('chat: a chain built with the keyboard in its own order (brightness before resize, then blur) is sent in that order', async () => {
    const { page, problems } = await openImageChat();
    expect(await steps(page)).toEqual(['resize', 'blur']);

    // Add brightness (it goes last, the focus into its field), set it, Tab to its Up button and move it to the top.
    await page.locator('#image-add-op').selectOption('brightness');
    await page.locator('#image-add').focus();
    await page.keyboard.press('Enter');
    expect(await steps(page)).toEqual(['resize', 'blur', 'brightness']);
    expect(await focused(page)).toBe('step 3 (brightness) factor');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('1.4');
    await page.keyboard.press('Tab');
    expect(await focused(page)).toBe('Move step 3 (brightness) up');
    await page.keyboard.press('Enter');
    expect(await steps(page)).toEqual(['resize', 'brightness', 'blur']);
    expect(await focused(page)).toBe('Move step 2 (brightness) up');
    await page.keyboard.press('Enter');
    expect(await steps(page)).toEqual(['brightness', 'resize', 'blur']);
    // At the top Up is off, so the focus is on the step's Down.
    expect(await page.locator('#image-chain > li[data-op="brightness"] [data-action="up"]').isDisabled()).toBe(true);
    expect(await focused(page)).toBe('Move step 1 (brightness) down');

    // Down and back up again keeps the order, and a step added then removed leaves no trace; the focus goes to the step before it.
    await page.keyboard.press('Enter');
    expect(await steps(page)).toEqual(['resize', 'brightness', 'blur']);
    await page.locator('#image-chain > li[data-op="brightness"] [data-action="up"]').press('Enter');
    expect(await steps(page)).toEqual(['brightness', 'resize', 'blur']);
    await page.locator('#image-add-op').selectOption('flip');
    await page.locator('#image-add').press('Enter');
    expect(await steps(page)).toEqual(['brightness', 'resize', 'blur', 'flip']);
    await page.locator('#image-chain > li[data-op="flip"] [data-action="remove"]').press('Enter');
    expect(await steps(page)).toEqual(['brightness', 'resize', 'blur']);
    expect(await focused(page)).toBe('Remove step 3 (blur)');

    await field(page, 'resize', 'width').fill('120');
    await field(page, 'resize', 'height').fill('90');
    await field(page, 'blur', 'sigma').fill('1');
    await page.locator('#image-format').selectOption('png');
    await page.locator('#image-files').setInputFiles(
      await Promise.all(['dune.png', 'reef.png'].map(async (name, i) => ({ name, mimeType: 'image/png', buffer: await png(300 + i * 20, 200, 30 + i * 90) }))),
    );
    await page.screenshot({ path: join(ARTIFACTS, 'chat-image-chain-order.png'), fullPage: true });

    // The upload's `ops` part is the list, in its order, the format last. (Chromium does not hand the
    // test a multipart body with files in it, so the page's fetch is watched for the form it sends.)
    const [request] = await Promise.all([
      page.waitForRequest((r) => r.method() === 'POST' && new URL(r.url()).pathname === '/api/v1/images'),
      page.locator('#send').click(),
    ]);
    expect(request.headers()['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    const sentOps = await page.evaluate(() => (globalThis as unknown as { sentImageOps: string[] }).sentImageOps);
    expect(sentOps).toHaveLength(1);
    const sent = [{ op: 'brightness', factor: 1.4 }, { op: 'resize', width: 120, height: 90, fit: 'cover' }, { op: 'blur', sigma: 1 }, { op: 'format', format: 'png' }];
    expect(JSON.parse(sentOps[0]!)).toEqual(sent);

    const bubble = page.locator('.image-batch');
    await bubble.waitFor();
    expect(await bubble.locator('.batch-title').textContent()).toMatch(/2 images · brightness 1\.4 → resize 120×90 → blur 1 → png$/);
    await page.locator('.image-batch[data-status="succeeded"]').waitFor({ timeout: WAIT_MS });
    // The batch the master keeps has that chain, in that order; its outputs are the chain's last size and format.
    const id = (await bubble.getAttribute('data-batch-id')) ?? '';
    const batch = (await (await fetch(`${cluster!.httpUrl}/api/v1/batches/${id}`)).json()) as { ops: unknown[]; images: { width: number; height: number; content_type: string }[] };
    expect(batch.ops).toEqual(sent);
    expect(batch.images.map((i) => [i.width, i.height, i.content_type])).toEqual([[120, 90, 'image/png'], [120, 90, 'image/png']]);
    await page.waitForFunction(() => {
      const imgs = document.querySelectorAll('.image-batch img.thumb');
      return imgs.length === 4 && Array.from(imgs).every((i) => i.complete && i.naturalWidth > 0);
    }, undefined, { timeout: WAIT_MS });
    await page.screenshot({ path: join(ARTIFACTS, 'chat-image-chain-order-done.png'), fullPage: true });
    expect(problems.errors).toEqual([]);
  }, 180_000);

  it('chat: a step dragged by its handle (HTML5 drag and drop) moves where the drop line shows, and the chain is sent in the new order', async () => {
    const { page, problems } = await openImageChat();
    await page.locator('#image-add-op').selectOption('grayscale');
    await page.locator('#image-add').click();
    expect(await steps(page)).toEqual(['resize', 'blur', 'grayscale']);
    const row = (op: string) => page.locator(`#image-chain > li[data-op="${op}"]`);

    // Grayscale to the top, with the mouse: while over the upper half of resize the line is above it.
    const handle = await row('grayscale').locator('.step-handle').boundingBox();
    const top = await row('resize').boundingBox();
    await page.mouse.move(handle!.x + handle!.width / 2, handle!.y + handle!.height / 2);
    await page.mouse.down();
    await page.mouse.move(top!.x + 40, top!.y + top!.height / 2, { steps: 4 });
    await page.mouse.move(top!.x + 40, top!.y + 3, { steps: 2 });
    await row('resize').and(page.locator('.drop-before')).waitFor();
    expect(await row('grayscale').getAttribute('class')).toMatch(/\bdragging\b/);
    await page.screenshot({ path: join(ARTIFACTS, 'chat-image-chain-drag.png'), fullPage: true });
    await page.mouse.up();
    expect(await steps(page)).toEqual(['grayscale', 'resize', 'blur']);
    expect(await page.locator('#image-chain .drop-before, #image-chain .drop-after, #image-chain .dragging').count()).toBe(0);
    // The numbers and labels follow the order shown.
    expect(await row('grayscale').locator('[data-action="down"]').getAttribute('aria-label')).toBe('Move step 1 (grayscale) down');

    // Resize below blur with dragTo: dropped on the lower half of the last step, it goes after it.
    const last = await row('blur').boundingBox();
    await row('resize').locator('.step-handle').dragTo(row('blur'), { targetPosition: { x: 40, y: last!.height - 3 } });
    expect(await steps(page)).toEqual(['grayscale', 'blur', 'resize']);

    // Sent as shown, and kept by the master in that order.
    await field(page, 'resize', 'width').fill('80');
    await field(page, 'resize', 'height').fill('60');
    await page.locator('#image-format').selectOption('png');
    await page.locator('#image-files').setInputFiles([{ name: 'drag.png', mimeType: 'image/png', buffer: await png(200, 150, 90) }]);
    await page.locator('#send').click();
    await page.locator('.image-batch').waitFor();
    const sentOps = await page.evaluate(() => (globalThis as unknown as { sentImageOps: string[] }).sentImageOps);
    const sent = [{ op: 'grayscale' }, { op: 'blur', sigma: 2 }, { op: 'resize', width: 80, height: 60, fit: 'cover' }, { op: 'format', format: 'png' }];
    expect(sentOps.map((o) => JSON.parse(o))).toEqual([sent]);
    await page.locator('.image-batch[data-status="succeeded"]').waitFor({ timeout: WAIT_MS });
    const id = (await page.locator('.image-batch').getAttribute('data-batch-id')) ?? '';
    expect(((await (await fetch(`${cluster!.httpUrl}/api/v1/batches/${id}`)).json()) as { ops: unknown[] }).ops).toEqual(sent);
    expect(problems.errors).toEqual([]);
  }, 180_000);

  it('chat: images dropped on the composer are sent as a batch (a dropped non-image is left out)', async () => {
    const { page, problems } = await open('/');
    await page.locator('#connection[data-state="connected"]').waitFor();
    await page.locator('#kind option[value="image"]').waitFor({ state: 'attached' });
    await page.locator('#kind').selectOption('image');
    await page.locator('#image-batch-field').waitFor({ state: 'visible' });
    const pngs = await Promise.all([0, 1].map(async (i) => (await png(200 + i * 20, 150, 90 + i * 50)).toString('base64')));
    // Runs in the page (DOM types are not in the tests' TypeScript lib).
    type PageDataTransfer = { items: { add(f: File): void } };
    const dropped = await page.evaluateHandle((b64s) => {
      const dt = new (globalThis as unknown as { DataTransfer: new () => PageDataTransfer }).DataTransfer();
      b64s.forEach((b64, i) => dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], `drop-${i}.png`, { type: 'image/png' })));
      dt.items.add(new File(['not an image'], 'notes.txt', { type: 'text/plain' }));
      return dt;
    }, pngs);
    await page.dispatchEvent('#image-batch-field', 'dragover', { dataTransfer: dropped });
    expect(await page.locator('#image-batch-field.drop-target').count()).toBe(1);
    await page.dispatchEvent('#image-batch-field', 'drop', { dataTransfer: dropped });
    expect(await page.locator('#image-files').evaluate((el) => [...((el as unknown as { files: File[] | null }).files ?? [])].map((f) => f.name))).toEqual(['drop-0.png', 'drop-1.png']);
    await page.locator('#send').click();
    const bubble = page.locator('.image-batch').last();
    await bubble.waitFor();
    expect(await bubble.locator('.batch-title').textContent()).toMatch(/ 2 images · /);
    await page.locator('.image-batch[data-status="succeeded"]').last().waitFor({ timeout: WAIT_MS });
    expect(problems.errors).toEqual([]);
  }, 180_000);

  it('dashboard: the batch page shows progress, counts, thumbnails and downloads', async () => {
    if (!batchId) batchId = (await (await fetch(`${cluster!.httpUrl}/api/v1/images`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ images: [(await (await fetch(`${cluster!.httpUrl}/api/v1/blobs`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: new Uint8Array(await png(50, 50, 3)) })).json() as { id: string }).id], ops: [{ op: 'grayscale' }] }) })).json() as { id: string }).id;
    const { page, problems } = await open(`/dashboard/#/batches/${batchId}`);
    const panel = page.locator(`#batch-panel[data-batch-id="${batchId}"]`);
    await panel.waitFor();
    expect(await panel.getAttribute('data-status')).toBe('succeeded');
    expect(await page.locator('#batch .card[data-field="succeeded"] .card-value').textContent()).toBe('3');
    expect(await page.locator('#batch .card[data-field="failed"] .card-value').textContent()).toBe('0');
    const rows = page.locator('#batch-images tr[data-name]');
    expect(await rows.count()).toBe(3);
    expect(await rows.nth(0).locator('[data-field="worker"]').textContent()).toBe(cluster!.workers[0]!.id);
    expect(await rows.nth(0).locator('[data-field="output"]').textContent()).toMatch(/^160×120, image\/webp/);
    await page.waitForFunction(() => {
      const imgs = document.querySelectorAll('#batch-images img.batch-thumb');
      return imgs.length === 6 && Array.from(imgs).every((i) => i.complete && i.naturalWidth > 0);
    }, undefined, { timeout: WAIT_MS });
    const [download] = await Promise.all([page.waitForEvent('download'), rows.nth(2).locator('[data-action="download"]').click()]);
    expect(download.suggestedFilename()).toBe('sand.webp');
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-image-batch.png'), fullPage: true });

    // An unknown batch says so.
    await page.goto(`${cluster!.httpUrl}/dashboard/#/batches/batch-nope`);
    await page.locator('#batch', { hasText: 'No image batch with id batch-nope' }).waitFor();
    expect(problems.errors.filter((e) => !/404/.test(e))).toEqual([]);
  }, 120_000);

  it('dashboard: a running batch shows its progress and updates until it is done', async () => {
    // Slow enough to be seen running: a big blur on larger images, one worker with 2 slots.
    const form = new FormData();
    form.set('ops', JSON.stringify([{ op: 'blur', sigma: 25 }, { op: 'format', format: 'png' }]));
    for (let i = 0; i < 6; i++) form.append('files', new Blob([new Uint8Array(await png(1600, 1200, i * 40))], { type: 'image/png' }), `big-${i}.png`);
    const res = await fetch(`${cluster!.httpUrl}/api/v1/images`, { method: 'POST', body: form });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const { page } = await open(`/dashboard/#/batches/${id}`);
    await page.locator('#batch-panel').waitFor();
    const first = await page.locator('#batch-panel').getAttribute('data-status');
    if (first === 'running') {
      // A running image names the worker it runs on.
      const workers = await page.locator('#batch-images tr[data-status="running"] [data-field="worker"]').allTextContents();
      for (const w of workers) expect(w).toBe(cluster!.workers[0]!.id);
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-image-batch-running.png'), fullPage: true });
    }
    await page.locator('#batch-panel[data-status="succeeded"]').waitFor({ timeout: 120_000 });
    expect(await page.locator('#batch .card[data-field="succeeded"] .card-value').textContent()).toBe('6');
  }, 180_000);
});
