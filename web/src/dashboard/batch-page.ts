/**
 * One image batch (`#/batches/<id>`): status, progress and counts, the chain,
 * and per image its state, worker, attempts, time, size, before/after
 * thumbnails and a download; the ZIP of the outputs. While the batch runs it
 * is reloaded (GET /api/v1/batches/:id) when the stream says one of its
 * images started or ended (`batch.image`, `batch.finished`), at most every
 * REDRAW_MS, and every FALLBACK_REFRESH_MS without events (a stream cut
 * short). Blobs are fetched with the
 * API key and shown through object URLs, revoked when the page is left.
 */
import type { BatchView } from '../../../common/batch-view.js';
import { h, replaceChildren } from '../dom.js';
import { ApiError } from './api.js';
import type { DashboardContext, DashboardPage } from './context.js';
import type { StreamEvent } from './live-stats.js';
import { badge, card, formatMs, jsonBlock, link, row, section, table } from './view-kit.js';

const REDRAW_MS = 250;
const FALLBACK_REFRESH_MS = 5000;

export class BatchPage implements DashboardPage {
  readonly eventTypes: readonly string[] = ['batch.image', 'batch.finished'];
  private readonly head = h('div', { id: 'batch' });
  private readonly body = h('div', { id: 'batch-images' });
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** A redraw for an event is due (the next events wait for it). */
  private soon = false;
  private readonly urls = new Map<string, Promise<string>>();
  private disposed = false;

  constructor(
    root: HTMLElement,
    private readonly ctx: DashboardContext,
    private readonly id: string,
  ) {
    replaceChildren(root, [this.head, this.body]);
  }

  async refresh(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    let b: BatchView;
    try {
      b = await this.ctx.api.get<BatchView>(`/api/v1/batches/${encodeURIComponent(this.id)}`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        replaceChildren(this.head, [section('Batch not found', [h('p', {}, [`No image batch with id ${this.id}.`])])]);
        replaceChildren(this.body, []);
        return;
      }
      throw err;
    }
    if (this.disposed) return;
    const c = b.counts;
    const elapsed = (b.finished_at_ms ?? Date.now()) - b.created_at_ms;
    replaceChildren(this.head, [
      h('section', { class: 'panel', id: 'batch-panel', 'data-batch-id': b.id, 'data-status': b.status }, [
        h('div', { class: 'panel-head' }, [h('h2', { class: 'panel-title' }, [`Image batch ${b.id}`]), badge(b.status)]),
        h('progress', { id: 'batch-progress', class: 'batch-progress', max: c.total, value: c.succeeded + c.failed }),
        h('div', { class: 'cards' }, [
          card('total', 'Images', String(c.total)),
          card('succeeded', 'Done', String(c.succeeded)),
          card('running', 'Running', String(c.running)),
          card('queued', 'Queued', String(c.queued)),
          card('failed', 'Failed', String(c.failed)),
          card('elapsed', b.finished_at_ms === null ? 'Running for' : 'Took', formatMs(elapsed)),
        ]),
        h('p', { class: 'batch-actions' }, [
          c.succeeded > 0 && b.status !== 'running' ? this.downloadButton(`/api/v1/batches/${encodeURIComponent(b.id)}/zip`, `${b.id}.zip`, 'Download all (ZIP)', 'zip') : null,
        ]),
        h('details', {}, [h('summary', {}, ['Chain']), jsonBlock(b.ops, 'ops')]),
      ]),
    ]);
    replaceChildren(this.body, [
      section('Images', [
        table(
          'The images of this batch',
          ['Image', 'Before', 'After', 'Status', 'Worker', 'Attempts', 'Time', 'Output', ''],
          b.images.map((img) =>
            row(
              [
                img.task_id ? link(`#/tasks/${encodeURIComponent(img.task_id)}`, img.name) : img.name,
                this.thumb(`/api/v1/blobs/${img.input_blob}`, `${img.name} before`, 'before'),
                img.output_blob ? this.thumb(`/api/v1/blobs/${img.output_blob}`, `${img.name} after`, 'after') : null,
                h('span', {}, [badge(img.status), img.cached ? h('span', { class: 'muted small' }, [' (recorded)']) : null]),
                img.worker_id,
                img.attempts,
                img.ms === null ? null : formatMs(img.ms),
                img.output_blob ? `${img.width}×${img.height}, ${img.content_type}, ${img.bytes} B` : (img.error ? `${img.error.code}: ${img.error.message}` : null),
                img.output_blob ? this.downloadButton(`/api/v1/blobs/${img.output_blob}`, `${img.name.replace(/\.[^.]+$/, '')}.${img.content_type?.split('/')[1] ?? 'img'}`, 'Download', 'download') : null,
              ],
              { 'data-name': img.name, 'data-status': img.status },
              ['name', 'before', 'after', 'status', 'worker', 'attempts', 'ms', 'output', 'download'],
            ),
          ),
        ),
      ]),
    ]);
    if (b.status === 'running') this.later(FALLBACK_REFRESH_MS);
  }

  /** One of this batch's images moved: redraw soon (several events within REDRAW_MS make one reload). */
  onEvent(e: StreamEvent & { id: number }): void {
    if ((e as { batch_id?: string }).batch_id !== this.id || this.soon) return;
    this.later(REDRAW_MS);
  }

  private later(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.soon = ms < FALLBACK_REFRESH_MS;
    this.timer = setTimeout(() => {
      this.soon = false;
      void this.refresh().catch(() => undefined);
    }, ms);
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const u of this.urls.values()) void u.then((x) => URL.revokeObjectURL(x)).catch(() => undefined);
  }

  private blobUrl(path: string): Promise<string> {
    let u = this.urls.get(path);
    if (!u) {
      u = fetch(path, { headers: this.ctx.api.headers() }).then(async (r) => {
        if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
        return URL.createObjectURL(await r.blob());
      });
      this.urls.set(path, u);
    }
    return u;
  }

  private thumb(path: string, alt: string, which: string): HTMLElement {
    const img = h('img', { class: 'batch-thumb', alt, 'data-thumb': which });
    this.blobUrl(path).then((u) => (img.src = u)).catch(() => (img.alt = `${alt} (not readable)`));
    return img;
  }

  private downloadButton(path: string, name: string, label: string, action: string): HTMLElement {
    const b = h('button', { type: 'button', class: 'button ghost', 'data-action': action }, [label]);
    b.addEventListener('click', () => {
      void this.blobUrl(path).then((url) => {
        const a = h('a', { href: url, download: name, hidden: true });
        document.body.append(a);
        a.click();
        a.remove();
      });
    });
    return b;
  }
}
