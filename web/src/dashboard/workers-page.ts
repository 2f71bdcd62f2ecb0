/**
 * Workers: state, kinds and models, capacity and in-flight tasks, load,
 * heartbeat age, tasks done/failed, run time; drain and resume buttons
 * (POST /api/v1/workers/:id/drain|resume, operator).
 */
import { h, replaceChildren } from '../dom.js';
import type { DashboardContext, DashboardPage } from './context.js';
import { ago, badge, button, formatMs, link, row, section, table } from './view-kit.js';
import type { WorkerView } from './types.js';
import { ApiError } from './api.js';

/** At most one reload per this many ms while events stream in (each is a server query). */
const LIVE_REFRESH_MS = 1500;

export class WorkersPage implements DashboardPage {
  constructor(
    private readonly root: HTMLElement,
    private readonly ctx: DashboardContext,
  ) {}

  async refresh(): Promise<void> {
    const { workers } = await this.ctx.api.get<{ workers: WorkerView[] }>('/api/v1/workers');
    workers.sort((a, b) => (a.state === 'offline' ? 1 : 0) - (b.state === 'offline' ? 1 : 0) || a.id.localeCompare(b.id));
    const rows = workers.map((w) => this.row(w));
    replaceChildren(this.root, [
      section(`Workers (${workers.filter((w) => w.state !== 'offline').length} connected)`, [
        table(
          'Workers',
          ['Worker', 'State', 'Kinds / models', 'In flight', 'Load', 'Last seen', 'Done / failed', 'Run time mean / p95', 'Actions'],
          rows,
          'No worker has registered yet.',
        ),
      ], { id: 'workers' }),
    ]);
  }

  onEvent(e: { type: string }): void {
    if (e.type.startsWith('worker.') || e.type.startsWith('task.')) this.later();
  }

  private timer: ReturnType<typeof setTimeout> | undefined;
  private later(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.refresh().catch(() => undefined);
    }, LIVE_REFRESH_MS);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
  }

  private row(w: WorkerView): HTMLTableRowElement {
    const state = w.suspect && w.state !== 'offline' ? 'suspect' : w.state;
    const kinds = h('div', { class: 'kinds' }, [
      w.kinds.join(', ') || '–',
      ...(w.models ?? []).map((m) => h('div', { class: 'muted small' }, [`${m.kind}: ${m.name}${m.ready ? '' : ' (loading)'}`])),
    ]);
    const actions = h('div', { class: 'actions' }, [
      w.state === 'online' ? button('Drain', () => this.control(w.id, 'drain'), { 'data-action': 'drain', 'aria-label': `Drain ${w.id}` }) : null,
      w.state === 'draining' ? button('Resume', () => this.control(w.id, 'resume'), { 'data-action': 'resume', 'aria-label': `Resume ${w.id}` }) : null,
    ]);
    return row(
      [
        h('div', {}, [link(`#/workers/${encodeURIComponent(w.id)}`, w.id, { class: 'mono' }), h('div', { class: 'muted small' }, [`${w.language} ${w.version} · ${w.hostname}`])]),
        badge(state),
        kinds,
        `${w.running} / ${w.capacity}`,
        meter(w.load),
        ago(w.heartbeat_age_ms),
        `${w.tasks_succeeded ?? 0} / ${w.tasks_failed ?? 0}`,
        `${formatMs(w.run_ms_mean)} / ${formatMs(w.run_ms_p95)}`,
        actions,
      ],
      { 'data-worker-id': w.id, 'data-state': w.state },
      ['id', 'state', 'kinds', 'in-flight', 'load', 'last-seen', 'done', 'run-time', 'actions'],
    );
  }

  private async control(id: string, action: 'drain' | 'resume'): Promise<void> {
    await controlWorker(this.ctx, id, action);
    await this.refresh();
  }
}

/** POST /api/v1/workers/:id/drain|resume; says what happened in the notice. */
export async function controlWorker(ctx: DashboardContext, id: string, action: 'drain' | 'resume'): Promise<void> {
  try {
    const out = await ctx.api.post<{ confirmed: boolean }>(`/api/v1/workers/${encodeURIComponent(id)}/${action}`);
    ctx.notify(out.confirmed ? `${id}: ${action === 'drain' ? 'draining' : 'resumed'}` : `${id}: ${action} sent, not confirmed yet`, 'info');
  } catch (err) {
    ctx.notify(err instanceof ApiError ? `${action} ${id}: ${err.message}` : String(err), 'error');
  }
}

export function meter(load: number): HTMLElement {
  const pct = Math.round(Math.max(0, Math.min(1, load)) * 100);
  const m = h('meter', { min: 0, max: 100, value: pct, 'aria-label': 'load' });
  return h('span', { class: 'load' }, [m, ` ${pct}%`]);
}
