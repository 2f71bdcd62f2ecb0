/**
 * Image batches (`#/batches?status=…`): the caller's batches newest first
 * (GET /api/v1/batches), 50 per page with "Load more" (the route's cursor),
 * a status filter kept in the hash (bookmarkable, like the tasks page), and
 * per batch its id (a link to `#/batches/<id>`), created time, status,
 * counts, chain and a progress bar. The page re-reads its first page (one
 * query, however many pages are loaded: batch-list.ts folds it in) when the
 * stream says an image of a batch moved or a batch finished (`batch.image`,
 * `batch.finished`; also how a new batch shows up), at most every
 * EVENT_REFRESH_MS, and while a batch of the first page runs every
 * RUNNING_REFRESH_MS without events (a stream cut short).
 */
import { h, replaceChildren } from '../dom.js';
import { anyRunning, BATCH_STATUSES, chainLabel, finished, foldFirstPage, type BatchSummary, type LoadedBatches } from './batch-list.js';
import type { DashboardContext, DashboardPage } from './context.js';
import { badge, button, formatMs, link, row, section, table } from './view-kit.js';

/** Batches per page of the list. */
const PAGE = 50;

/** How soon the first page is re-read after a batch event (the events within it make one read). */
const EVENT_REFRESH_MS = 500;
/** How often the first page is re-read while one of its batches runs and no event came. */
const RUNNING_REFRESH_MS = 10_000;

export class BatchesPage implements DashboardPage {
  readonly eventTypes: readonly string[] = ['batch.image', 'batch.finished'];
  private readonly list = h('div', { id: 'batch-list' });
  private readonly more = h('div', { class: 'more' });
  private loaded: LoadedBatches = { rows: [], cursor: null };
  /** How many of the loaded rows the last first-page read covers (the live refresh updates those). */
  private firstCount = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** A read for an event is due (later events wait for it). */
  private soon = false;
  private disposed = false;

  constructor(
    root: HTMLElement,
    private readonly ctx: DashboardContext,
    private readonly params: URLSearchParams,
  ) {
    replaceChildren(root, [section('Image batches', [this.form(), this.list, this.more], { id: 'batches' })]);
  }

  /** The status filter from the hash; anything else is ignored rather than sent (the route would 400). */
  private status(): string | undefined {
    const s = this.params.get('status') ?? '';
    return (BATCH_STATUSES as readonly string[]).includes(s) ? s : undefined;
  }

  private form(): HTMLElement {
    const current = this.status();
    const status = h('select', { id: 'batch-filter-status', name: 'status' }, [
      h('option', { value: '' }, ['any']),
      ...BATCH_STATUSES.map((s) => h('option', { value: s, selected: current === s }, [s])),
    ]);
    // A select applies at once: one field, nothing to type.
    status.addEventListener('change', () => this.ctx.navigate(status.value ? `#/batches?status=${status.value}` : '#/batches'));
    return h('form', { class: 'filters', id: 'batch-filter', role: 'search' }, [
      h('label', { class: 'field' }, [h('span', { class: 'field-label' }, ['Status']), status]),
    ]);
  }

  private async page(cursor: string | null): Promise<{ batches: BatchSummary[]; next_cursor: string | null }> {
    const q = new URLSearchParams({ limit: String(PAGE) });
    const status = this.status();
    if (status) q.set('status', status);
    if (cursor) q.set('cursor', cursor);
    return this.ctx.api.get(`/api/v1/batches?${q}`);
  }

  /** A batch moved: re-read the first page soon. */
  onEvent(): void {
    if (this.disposed || this.soon) return;
    if (this.timer) clearTimeout(this.timer);
    this.soon = true;
    this.timer = setTimeout(() => void this.refresh().catch(() => this.later()), EVENT_REFRESH_MS);
  }

  /** Re-reads the first page and folds it into the loaded rows (the first load and every live refresh). */
  async refresh(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.soon = false;
    const first = await this.page(null);
    if (this.disposed) return;
    this.loaded = foldFirstPage(this.loaded, first.batches, first.next_cursor);
    this.firstCount = first.batches.length;
    this.render();
    if (anyRunning(this.loaded.rows, this.firstCount)) {
      this.timer = setTimeout(() => void this.refresh().catch(() => this.later()), RUNNING_REFRESH_MS);
    }
  }

  /** After a failed live refresh (the master restarting, say): try again later instead of stopping. */
  private later(): void {
    if (this.disposed || this.timer) return;
    this.timer = setTimeout(() => void this.refresh().catch(() => this.later()), RUNNING_REFRESH_MS);
  }

  private async loadMore(): Promise<void> {
    if (!this.loaded.cursor) return;
    const next = await this.page(this.loaded.cursor);
    if (this.disposed) return;
    this.loaded = { rows: [...this.loaded.rows, ...next.batches], cursor: next.next_cursor };
    this.render();
  }

  private render(): void {
    const status = this.status();
    replaceChildren(this.list, [
      table(
        'Image batches, newest first',
        ['Batch', 'Created', 'Status', 'Progress', 'Done', 'Failed', 'Running', 'Queued', 'Images', 'Chain', 'Time'],
        this.loaded.rows.map((b) => this.row(b)),
        status ? `No image batch is ${status}.` : 'No image batches yet: upload images in the chat (kind image) or with taskwire images process.',
      ),
    ]);
    replaceChildren(this.more, [
      h('span', { class: 'muted small', id: 'batch-count' }, [`${this.loaded.rows.length} shown`]),
      this.loaded.cursor ? button('Load more', () => this.loadMore().catch((err: unknown) => this.ctx.notify(err instanceof Error ? err.message : String(err), 'error')), { id: 'batch-load-more' }, 'ghost') : null,
    ]);
  }

  private row(b: BatchSummary): HTMLTableRowElement {
    const c = b.counts;
    const created = new Date(b.created_at_ms);
    const progress = h('div', { class: 'batch-row-progress' }, [
      h('progress', { class: 'batch-progress', max: Math.max(c.total, 1), value: finished(b), 'aria-label': `Batch ${b.id}: ${finished(b)} of ${c.total} images finished` }),
      h('span', { class: 'muted small' }, [`${finished(b)}/${c.total}`]),
    ]);
    return row(
      [
        link(`#/batches/${encodeURIComponent(b.id)}`, b.id, { class: 'mono' }),
        h('time', { datetime: created.toISOString(), title: created.toISOString() }, [created.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' })]),
        badge(b.status),
        progress,
        c.succeeded,
        c.failed,
        c.running,
        c.queued,
        c.total,
        chainLabel(b.ops),
        formatMs((b.finished_at_ms ?? Date.now()) - b.created_at_ms),
      ],
      { 'data-batch-id': b.id, 'data-status': b.status },
      ['id', 'created', 'status', 'progress', 'succeeded', 'failed', 'running', 'queued', 'total', 'chain', 'time'],
    );
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
