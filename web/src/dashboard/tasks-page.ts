/**
 * Tasks: the server-side search over the whole stored history
 * (GET /api/v1/tasks: status, kind, worker, full-text `q` over input, result
 * and error), newest first, in cursor pages ("Load more"), with retry /
 * cancel per row and for the ticked rows, export of the filter as CSV or JSON Lines
 * (GET /api/v1/tasks/export) and bulk cancel / retry of everything matching
 * the filter (POST /api/v1/tasks/bulk/{cancel,retry}: a dry run first says
 * how many match, then the operator confirms). The filter lives in the URL
 * hash, so a filtered view can be bookmarked and shared.
 */
import { h, replaceChildren } from '../dom.js';
import { ApiError } from './api.js';
import type { DashboardContext, DashboardPage } from './context.js';
import { cancelTask, retryTask } from './task-actions.js';
import { CANCELLABLE, RETRYABLE, TASK_STATUSES, type TaskView } from './types.js';
import { badge, button, formatMs, link, row, section, shortTime, table } from './view-kit.js';

/** At most one reload per this many ms while events stream in (each is a server query). */
const LIVE_REFRESH_MS = 2000;

/** Tasks per page of the list. */
const PAGE = 100;

interface BulkAnswer {
  action: string;
  dry_run: boolean;
  matched: number;
  affected: number;
  truncated: boolean;
}

export class TasksPage implements DashboardPage {
  private readonly list = h('div', { id: 'task-list' });
  private readonly more = h('div', { class: 'more' });
  private readonly exports = h('div', { class: 'exports', id: 'exports' });
  private rows: HTMLTableRowElement[] = [];
  /** Rows the operator ticked: id -> status (kept across live reloads). */
  private readonly selected = new Map<string, string>();
  private readonly selection = h('div', { class: 'bulk', id: 'selection', 'aria-live': 'polite' });
  private cursor: string | null = null;
  /** Pages loaded beyond the first (live refresh then stops: it would fold them away). */
  private extraPages = 0;
  private readonly bulk = h('div', { id: 'bulk', class: 'bulk', 'aria-live': 'polite' });
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly root: HTMLElement,
    private readonly ctx: DashboardContext,
    private readonly params: URLSearchParams,
    private readonly kinds: () => string[],
  ) {
    replaceChildren(root, [section('Tasks', [this.form(), this.bulkBar(), this.bulk, this.selection, this.list, this.more, this.exports], { id: 'tasks' })]);
    this.renderExports();
  }

  private filter(): { status?: string; kind?: string; worker?: string; q?: string } {
    const f: { status?: string; kind?: string; worker?: string; q?: string } = {};
    for (const k of ['status', 'kind', 'worker', 'q'] as const) {
      const v = this.params.get(k);
      if (v) f[k] = v;
    }
    return f;
  }

  private form(): HTMLFormElement {
    const f = this.filter();
    const status = h('select', { id: 'filter-status', name: 'status' }, [
      h('option', { value: '' }, ['any']),
      ...TASK_STATUSES.map((s) => h('option', { value: s, selected: f.status === s }, [s])),
    ]);
    const kind = h('input', { id: 'filter-kind', name: 'kind', list: 'kind-list', value: f.kind ?? '', placeholder: 'any', maxlength: 64, autocomplete: 'off' });
    const kinds = h('datalist', { id: 'kind-list' }, this.kinds().map((k) => h('option', { value: k })));
    const worker = h('input', { id: 'filter-worker', name: 'worker', value: f.worker ?? '', placeholder: 'any', maxlength: 128, autocomplete: 'off' });
    const text = h('input', { id: 'filter-q', name: 'q', type: 'search', value: f.q ?? '', placeholder: 'words in input, result or error', maxlength: 200, autocomplete: 'off' });
    const form = h('form', { class: 'filters', id: 'task-filter', role: 'search' }, [
      h('label', { class: 'field field-wide' }, [h('span', { class: 'field-label' }, ['Text']), text]),
      h('label', { class: 'field' }, [h('span', { class: 'field-label' }, ['Status']), status]),
      h('label', { class: 'field' }, [h('span', { class: 'field-label' }, ['Kind']), kind, kinds]),
      h('label', { class: 'field' }, [h('span', { class: 'field-label' }, ['Worker']), worker]),
      h('button', { type: 'submit', class: 'button primary', id: 'apply-filter' }, ['Apply']),
    ]);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const p = new URLSearchParams();
      if (status.value) p.set('status', status.value);
      if (kind.value.trim()) p.set('kind', kind.value.trim());
      if (worker.value.trim()) p.set('worker', worker.value.trim());
      if (text.value.trim()) p.set('q', text.value.trim());
      const q = p.toString();
      this.ctx.navigate(`#/tasks${q ? `?${q}` : ''}`);
    });
    return form;
  }

  private bulkBar(): HTMLElement {
    return h('div', { class: 'bulk-bar' }, [
      h('span', { class: 'muted' }, ['Everything matching the filter:']),
      button('Cancel all…', () => this.bulkDry('cancel'), { id: 'bulk-cancel' }, 'ghost'),
      button('Retry all…', () => this.bulkDry('retry'), { id: 'bulk-retry' }, 'ghost'),
    ]);
  }

  private bulkBody(dryRun: boolean) {
    const { status, kind, worker } = this.filter();
    return { filter: { ...(status && { status }), ...(kind && { kind }), ...(worker && { worker }) }, dry_run: dryRun };
  }

  private async bulkDry(action: 'cancel' | 'retry'): Promise<void> {
    if (this.filter().q) {
      replaceChildren(this.bulk, [h('span', { class: 'error' }, ['Bulk actions select by status, kind and worker only: clear the text search first.'])]);
      return;
    }
    try {
      const out = await this.ctx.api.post<BulkAnswer>(`/api/v1/tasks/bulk/${action}`, this.bulkBody(true));
      const confirm = button(`${action === 'cancel' ? 'Cancel' : 'Retry'} ${out.matched}`, () => this.bulkRun(action), { id: 'bulk-confirm' }, 'danger');
      const abort = button('Keep them', () => replaceChildren(this.bulk, []), { id: 'bulk-abort' }, 'ghost');
      replaceChildren(this.bulk, [
        h('span', { id: 'bulk-matched', 'data-matched': out.matched }, [`${out.matched}${out.truncated ? '+' : ''} tasks match.`]),
        out.matched > 0 ? confirm : null,
        abort,
      ]);
    } catch (err) {
      replaceChildren(this.bulk, [h('span', { class: 'error' }, [err instanceof ApiError ? err.message : String(err)])]);
    }
  }

  private async bulkRun(action: 'cancel' | 'retry'): Promise<void> {
    try {
      const out = await this.ctx.api.post<BulkAnswer>(`/api/v1/tasks/bulk/${action}`, this.bulkBody(false));
      replaceChildren(this.bulk, [h('span', { id: 'bulk-done' }, [`${action === 'cancel' ? 'Cancelled' : 'Retried'} ${out.affected} of ${out.matched}.`])]);
    } catch (err) {
      replaceChildren(this.bulk, [h('span', { class: 'error' }, [err instanceof ApiError ? err.message : String(err)])]);
    }
    await this.refresh();
  }

  async refresh(): Promise<void> {
    const out = await this.page(undefined);
    this.rows = out.tasks.map((t) => this.row(t));
    this.extraPages = 0;
    this.render(out.next_cursor);
  }

  private async page(cursor: string | undefined): Promise<{ tasks: TaskView[]; next_cursor: string | null }> {
    const q = new URLSearchParams(this.filter());
    q.set('limit', String(PAGE));
    if (cursor) q.set('cursor', cursor);
    return this.ctx.api.get<{ tasks: TaskView[]; next_cursor: string | null }>(`/api/v1/tasks?${q}`);
  }

  private async loadMore(): Promise<void> {
    if (!this.cursor) return;
    const out = await this.page(this.cursor);
    this.rows.push(...out.tasks.map((t) => this.row(t)));
    this.extraPages++;
    this.render(out.next_cursor);
  }

  private render(next: string | null): void {
    this.cursor = next;
    replaceChildren(this.list, [
      table('Tasks', ['Select', 'Task', 'Kind', 'Status', 'Attempt', 'Worker', 'Created', 'Queue wait', 'Run time', 'Actions'], this.rows, 'No task matches.'),
    ]);
    replaceChildren(this.more, [
      h('span', { class: 'muted small', id: 'task-count' }, [`${this.rows.length} shown`]),
      next ? button('Load more', () => this.loadMore().catch((err: unknown) => this.ctx.notify(String(err), 'error')), { id: 'load-more' }, 'ghost') : null,
    ]);
  }

  /**
   * Export links: without an API key a plain download (streamed to disk);
   * with one the file is fetched with the key (never in a URL) and saved
   * from memory.
   */
  private renderExports(): void {
    const links = (['csv', 'jsonl'] as const).map((format) => {
      const q = new URLSearchParams(this.filter());
      q.set('format', format);
      const href = `/api/v1/tasks/export?${q}`;
      const a = h('a', { href, download: `tasks.${format}`, class: 'button ghost', 'data-format': format }, [`Export ${format === 'csv' ? 'CSV' : 'JSON Lines'}`]);
      a.addEventListener('click', (e) => {
        if (!this.ctx.api.keys.get()) return; // the browser streams it
        e.preventDefault();
        void this.download(href, `tasks.${format}`);
      });
      return a;
    });
    replaceChildren(this.exports, [h('span', { class: 'muted small' }, ['Everything matching the filter:']), ...links]);
  }

  private async download(href: string, name: string): Promise<void> {
    try {
      const res = await fetch(href, { headers: this.ctx.api.headers() });
      if (!res.ok) throw new Error(`export: HTTP ${res.status}`);
      const url = URL.createObjectURL(await res.blob());
      const a = h('a', { href: url, download: name });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      this.ctx.notify(err instanceof Error ? err.message : String(err), 'error');
    }
  }

  private renderSelection(): void {
    const n = this.selected.size;
    const ids = (ok: ReadonlySet<string>) => [...this.selected].filter(([, status]) => ok.has(status)).map(([id]) => id);
    replaceChildren(
      this.selection,
      n === 0
        ? []
        : [
            h('span', { id: 'selected-count' }, [`${n} selected`]),
            button(`Retry selected (${ids(RETRYABLE).length})`, () => this.onSelected('retry', ids(RETRYABLE)), { id: 'retry-selected' }),
            button(`Cancel selected (${ids(CANCELLABLE).length})`, () => this.onSelected('cancel', ids(CANCELLABLE)), { id: 'cancel-selected' }, 'ghost'),
            button('Clear', () => {
              this.selected.clear();
              for (const box of this.list.querySelectorAll<HTMLInputElement>('input[data-select]')) box.checked = false;
              this.renderSelection();
            }, { id: 'clear-selection' }, 'ghost'),
          ],
    );
  }

  private async onSelected(action: 'retry' | 'cancel', ids: string[]): Promise<void> {
    let done = 0;
    for (const id of ids) {
      const ok = action === 'retry' ? await retryTask(this.ctx, id) : await cancelTask(this.ctx, id);
      if (ok) done++;
    }
    this.selected.clear();
    this.renderSelection();
    this.ctx.notify(`${action === 'retry' ? 'Retried' : 'Cancelled'} ${done} of ${ids.length} selected tasks.`, done === ids.length ? 'info' : 'error');
    await this.refresh();
  }

  private row(t: TaskView): HTMLTableRowElement {
    const box = h('input', { type: 'checkbox', 'data-select': '', 'aria-label': `Select ${t.id}`, checked: this.selected.has(t.id) });
    box.addEventListener('change', () => {
      if (box.checked) this.selected.set(t.id, t.status);
      else this.selected.delete(t.id);
      this.renderSelection();
    });
    if (this.selected.has(t.id)) this.selected.set(t.id, t.status); // the status may have moved on
    const actions = h('div', { class: 'actions' }, [
      RETRYABLE.has(t.status) ? button('Retry', async () => void ((await retryTask(this.ctx, t.id)) && (await this.refresh())), { 'data-action': 'retry' }) : null,
      CANCELLABLE.has(t.status) ? button('Cancel', async () => void ((await cancelTask(this.ctx, t.id)) && (await this.refresh())), { 'data-action': 'cancel' }, 'ghost') : null,
    ]);
    return row(
      [
        box,
        link(`#/tasks/${encodeURIComponent(t.id)}`, t.id, { class: 'mono' }),
        t.kind,
        badge(t.status),
        t.attempt,
        t.worker_id,
        shortTime(t.created_at),
        formatMs(t.timings.queue_wait_ms),
        formatMs(t.timings.processing_ms),
        actions,
      ],
      { 'data-task-id': t.id, 'data-status': t.status },
      ['select', 'id', 'kind', 'status', 'attempt', 'worker', 'created', 'queue-wait', 'run-time', 'actions'],
    );
  }

  onEvent(e: { type: string }): void {
    if (!e.type.startsWith('task.') || this.timer || this.extraPages > 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.refresh().catch(() => undefined);
    }, LIVE_REFRESH_MS);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}
