/**
 * One worker: its state, host, language and version, kinds and models,
 * load and heartbeat, task counts and run times; drain / resume; the newest
 * tasks it ran (GET /api/v1/tasks?worker=); and its log lines live
 * (GET /api/v1/logs?worker=, then the same route with follow=true over the
 * fetch-based follower, resumed with Last-Event-ID).
 */
import { h, replaceChildren } from '../dom.js';
import { ApiError } from './api.js';
import type { DashboardContext, DashboardPage } from './context.js';
import { EventFollower } from './event-follower.js';
import type { LogLine, TaskView, WorkerView } from './types.js';
import { ago, badge, button, formatMs, link, row, section, shortTime, table } from './view-kit.js';
import { controlWorker, meter } from './workers-page.js';

/** At most one reload per this many ms while events stream in (each is a server query). */
const LIVE_REFRESH_MS = 1500;

/** Log lines kept on the page (the newest). */
const MAX_LINES = 500;

export class WorkerPage implements DashboardPage {
  private readonly head = h('div', { id: 'worker' });
  private readonly tasks = h('div', { id: 'worker-tasks' });
  private readonly logBody = h('tbody');
  private readonly logState = h('span', { class: 'muted small', id: 'worker-log-state' }, ['Loading…']);
  private follower: EventFollower | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    root: HTMLElement,
    private readonly ctx: DashboardContext,
    private readonly id: string,
  ) {
    replaceChildren(root, [
      this.head,
      section('Recent tasks', [this.tasks]),
      section('Logs', [
        this.logState,
        h('div', { class: 'table-wrap log-wrap' }, [
          h('table', { class: 'dash-table', id: 'worker-logs' }, [
            h('caption', { class: 'visually-hidden' }, ['Log lines of this worker, newest first']),
            h('thead', {}, [h('tr', {}, ['Time', 'Level', 'Task', 'Message'].map((x) => h('th', { scope: 'col' }, [x])))]),
            this.logBody,
          ]),
        ]),
      ]),
    ]);
    void this.startLogs();
  }

  async refresh(): Promise<void> {
    let w: WorkerView;
    try {
      w = await this.ctx.api.get<WorkerView>(`/api/v1/workers/${encodeURIComponent(this.id)}`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        replaceChildren(this.head, [section('Worker not found', [h('p', {}, [`No worker with id ${this.id}.`]), link('#/workers', 'All workers')])]);
        return;
      }
      throw err;
    }
    const state = w.suspect && w.state !== 'offline' ? 'suspect' : w.state;
    const fields: [string, string, Node | string][] = [
      ['host', 'Host', w.hostname],
      ['language', 'Language', `${w.language} ${w.version}`],
      ['kinds', 'Kinds', w.kinds.join(', ') || '–'],
      ['models', 'Models', (w.models ?? []).map((m) => `${m.kind}: ${m.name}${m.ready ? '' : ' (loading)'}`).join(', ') || '–'],
      ['in-flight', 'In flight', `${w.running} / ${w.capacity}`],
      ['load', 'Load', meter(w.load)],
      ['last-seen', 'Last heartbeat', ago(w.heartbeat_age_ms)],
      ['done', 'Done / failed', `${w.tasks_succeeded ?? 0} / ${w.tasks_failed ?? 0}`],
      ['run-time', 'Run time mean / p95', `${formatMs(w.run_ms_mean)} / ${formatMs(w.run_ms_p95)}`],
    ];
    const act = (action: 'drain' | 'resume') => async () => {
      await controlWorker(this.ctx, w.id, action);
      await this.refresh();
    };
    replaceChildren(this.head, [
      h('section', { class: 'panel', 'data-worker-id': w.id, 'data-state': w.state, id: 'worker-panel' }, [
        h('div', { class: 'panel-head' }, [
          h('h2', { class: 'panel-title' }, ['Worker ', h('code', {}, [w.id])]),
          badge(state),
          h('div', { class: 'actions' }, [
            w.state === 'online' ? button('Drain', act('drain'), { 'data-action': 'drain' }) : null,
            w.state === 'draining' ? button('Resume', act('resume'), { 'data-action': 'resume' }) : null,
          ]),
        ]),
        h('dl', { class: 'fields' }, fields.map(([f, label, value]) => h('div', { 'data-field': f }, [h('dt', {}, [label]), h('dd', {}, [value])]))),
      ]),
    ]);
    const recent = await this.ctx.api.get<{ tasks: TaskView[] }>(`/api/v1/tasks?${new URLSearchParams({ worker: this.id, limit: '20' })}`).catch(() => ({ tasks: [] as TaskView[] }));
    replaceChildren(this.tasks, [
      table(
        'Recent tasks of this worker',
        ['Task', 'Kind', 'Status', 'Created', 'Run time'],
        recent.tasks.map((t) => row([link(`#/tasks/${encodeURIComponent(t.id)}`, t.id, { class: 'mono' }), t.kind, badge(t.status), shortTime(t.created_at), formatMs(t.timings.processing_ms)], { 'data-task-id': t.id })),
        'No task ran here yet.',
      ),
    ]);
  }

  private async startLogs(): Promise<void> {
    const q = new URLSearchParams({ worker: this.id, limit: '200' });
    let page: { logs: LogLine[]; last_id: number };
    try {
      page = await this.ctx.api.get<{ logs: LogLine[]; last_id: number }>(`/api/v1/logs?${q}`);
    } catch {
      this.logState.textContent = 'This master keeps no logs (or this key may not read them).';
      return;
    }
    for (const l of [...page.logs].reverse()) this.addLine(l);
    this.follower = new EventFollower({
      path: `/api/v1/logs?${new URLSearchParams({ worker: this.id, follow: 'true' })}`,
      headers: () => this.ctx.api.headers(),
      lastId: Math.max(page.last_id, ...page.logs.map((l) => l.id)),
      onEvent: (_id, type, data) => {
        if (type === 'log') this.addLine(data as LogLine);
      },
      onState: (state) => {
        this.logState.textContent = state === 'live' ? 'Following live.' : state === 'stopped' ? '' : `${state[0]!.toUpperCase()}${state.slice(1)}…`;
        this.logState.dataset['state'] = state;
      },
    });
    this.follower.start();
  }

  private addLine(l: LogLine): void {
    const task = l.task_id ? link(`#/tasks/${encodeURIComponent(l.task_id)}`, l.task_id, { class: 'mono' }) : null;
    this.logBody.prepend(row([shortTime(l.ts), badge(l.level), task, h('span', { class: 'mono' }, [l.msg])], { 'data-level': l.level, 'data-log-id': String(l.id) }));
    while (this.logBody.childElementCount > MAX_LINES) this.logBody.lastElementChild?.remove();
  }

  onEvent(e: { type: string; worker_id?: string }): void {
    if (e.worker_id !== this.id || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.refresh().catch(() => undefined);
    }, LIVE_REFRESH_MS);
  }

  dispose(): void {
    this.follower?.stop();
    if (this.timer) clearTimeout(this.timer);
  }
}
