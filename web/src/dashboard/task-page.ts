/**
 * One task: its fields, input, result or error, the timeline of every
 * transition and attempt (the task's history), the events of the task from
 * the durable stream (GET /api/v1/events?follow=false&task=ID), its log
 * lines from the master and its workers (GET /api/v1/logs?task=ID), and
 * retry / cancel. Refreshes when an event of this task arrives. While the
 * task is unfinished its streamed output (an llm task's tokens) shows live
 * (task-output.ts); once it ends the final result replaces it.
 */
import { h, replaceChildren } from '../dom.js';
import { ApiError } from './api.js';
import type { DashboardContext, DashboardPage } from './context.js';
import { cancelTask, retryTask } from './task-actions.js';
import { TaskOutput } from './task-output.js';
import { CANCELLABLE, RETRYABLE, type LogLine, type StoredEventView, type TaskDetail } from './types.js';
import { badge, button, formatMs, jsonBlock, link, row, section, shortTime, table } from './view-kit.js';

const LOG_POLL_MS = 3000;


export class TaskPage implements DashboardPage {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly logs = h('div', { id: 'task-log-lines' });
  /** Log lines arrive on their own path (MQTT, batched): polled while the page is open. */
  private readonly logPoll: ReturnType<typeof setInterval>;
  /** The live output while the task is unfinished. */
  private output: TaskOutput | undefined;

  constructor(
    private readonly root: HTMLElement,
    private readonly ctx: DashboardContext,
    private readonly id: string,
  ) {
    this.logPoll = setInterval(() => void this.refreshLogs(), LOG_POLL_MS);
  }

  private async refreshLogs(): Promise<void> {
    const logs = await this.ctx.api
      .get<{ logs: LogLine[] }>(`/api/v1/logs?${new URLSearchParams({ task: this.id, limit: '200' })}`)
      .catch(() => undefined);
    replaceChildren(this.logs, [
      logs === undefined
        ? h('p', { class: 'muted' }, ['This master keeps no logs (or this key may not read them).'])
        : table(
            'Log lines of this task',
            ['Time', 'Level', 'Source', 'Message'],
            [...logs.logs].reverse().map((l) => row([shortTime(l.ts), badge(l.level), l.source, h('span', { class: 'mono' }, [l.msg])], { 'data-level': l.level })),
            'No log lines about this task.',
          ),
    ]);
  }

  async refresh(): Promise<void> {
    let d: TaskDetail;
    try {
      d = await this.ctx.api.get<TaskDetail>(`/api/v1/dashboard/tasks/${encodeURIComponent(this.id)}`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        replaceChildren(this.root, [section('Task not found', [h('p', {}, [`No task with id ${this.id}.`]), link('#/tasks', 'All tasks')])]);
        return;
      }
      throw err;
    }
    const q = new URLSearchParams({ follow: 'false', since: '0', task: this.id, limit: '500' });
    void this.refreshLogs();
    const events = await this.ctx.api.get<{ events: StoredEventView[] }>(`/api/v1/events?${q}`).catch(() => ({ events: [] as StoredEventView[] }));
    const t = d.task;
    const running = CANCELLABLE.has(t.status);
    if (running && !this.output) {
      this.output = new TaskOutput({ path: `/api/v1/tasks/${encodeURIComponent(this.id)}/output`, headers: () => this.ctx.api.headers(), onDone: () => void this.refresh().catch(() => undefined) });
      this.output.start();
    } else if (!running && this.output) {
      this.output.stop();
      this.output = undefined;
    }
    const fields: [string, string, string][] = [
      ['kind', 'Kind', t.kind],
      ['priority', 'Priority', String(t.priority)],
      ['attempt', 'Attempt', `${t.attempt} of ${d.max_attempts}`],
      ['worker', 'Worker', t.worker_id ? `${t.worker_id}${t.worker_language ? ` (${t.worker_language})` : ''}` : '–'],
      ['session', 'Session', d.session_id ?? '–'],
      ['created', 'Created', shortTime(t.created_at)],
      ['finished', 'Finished', shortTime(t.finished_at)],
      ['queue-wait', 'Queue wait', formatMs(t.timings.queue_wait_ms)],
      ['processing', 'Run time', formatMs(t.timings.processing_ms)],
      ['total', 'Total', formatMs(t.timings.total_ms)],
    ];
    if (d.queue_position !== null) fields.push(['queue-position', 'Queue position', `${d.queue_position + 1}${d.eta_ms !== null ? `, about ${formatMs(d.eta_ms)}` : ''}`]);
    const actions = h('div', { class: 'actions' }, [
      RETRYABLE.has(t.status)
        ? button('Retry', async () => {
            const id = await retryTask(this.ctx, t.id);
            if (id) this.ctx.navigate(`#/tasks/${encodeURIComponent(id)}`);
          }, { id: 'task-retry' }, 'primary')
        : null,
      CANCELLABLE.has(t.status) ? button('Cancel', async () => void ((await cancelTask(this.ctx, t.id)) && (await this.refresh())), { id: 'task-cancel' }, 'danger') : null,
    ]);
    replaceChildren(this.root, [
      h('section', { class: 'panel', id: 'task', 'data-task-id': t.id, 'data-status': t.status }, [
        h('div', { class: 'panel-head' }, [h('h2', { class: 'panel-title' }, ['Task ', h('code', { id: 'task-id' }, [t.id])]), badge(t.status, 'task-status'), actions]),
        h('dl', { class: 'fields' }, fields.flatMap(([f, label, value]) => [h('div', { 'data-field': f }, [h('dt', {}, [label]), h('dd', {}, [value])])])),
      ]),
      section('Input', [d.input_truncated ? h('p', { class: 'muted small' }, ['Shown cut at 64 KiB.']) : null, jsonBlock(d.input_truncated ? d.input_preview : d.input, 'input')]),
      this.output ? section('Output', [h('p', { class: 'muted small' }, ['Streamed live; the result replaces it when the task ends.']), this.output.element], { id: 'task-output-section' }) : null,
      t.error
        ? section('Error', [h('p', { class: 'error', 'data-field': 'error' }, [h('code', {}, [t.error.code]), ` ${t.error.message}`])])
        : section('Result', [t.result === null ? h('p', { class: 'muted' }, ['No result yet.']) : jsonBlock(t.result, 'result')]),
      section('Timeline', [
        h(
          'ol',
          { class: 'timeline', id: 'timeline' },
          t.history.map((e) =>
            h('li', { 'data-status': e.status }, [
              h('time', {}, [shortTime(e.at)]),
              ' ',
              badge(e.status),
              e.attempt !== undefined ? ` attempt ${e.attempt}` : '',
              e.worker_id ? ` on ${e.worker_id}` : '',
              e.reason ? h('span', { class: 'muted' }, [` – ${e.reason}`]) : null,
            ]),
          ),
        ),
      ]),
      section('Events', [
        table(
          'Events of this task',
          ['Id', 'Time', 'Type', 'Details'],
          events.events.map((e) => row([String(e.id), new Date(e.ts).toLocaleTimeString(), e.type, eventDetails(e)], { 'data-type': e.type })),
          'No events kept for this task.',
        ),
      ], { id: 'task-events' }),
      section('Logs', [this.logs], { id: 'task-logs' }),
    ]);
  }

  onEvent(e: { type: string; task_id?: string }): void {
    if (e.task_id !== this.id || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.refresh().catch(() => undefined);
    }, 300);
  }

  dispose(): void {
    clearInterval(this.logPoll);
    this.output?.stop();
    if (this.timer) clearTimeout(this.timer);
  }
}

function eventDetails(e: StoredEventView): string {
  const parts: string[] = [];
  for (const k of ['attempt', 'worker_id', 'code', 'reason', 'delay_ms', 'queue_wait_ms', 'run_ms'] as const) {
    const v = e[k];
    if (v !== undefined && v !== null) parts.push(`${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  }
  const err = e['error'] as { code?: string } | null | undefined;
  if (err?.code) parts.push(`error=${err.code}`);
  return parts.join(' ');
}
