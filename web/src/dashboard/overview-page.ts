/**
 * Overview: the cluster summary (GET /api/v1/cluster, polled), queue depth
 * by kind and priority (GET /api/v1/dashboard/queue), throughput and
 * failures per second and queue-wait / run-time percentiles computed from
 * the event stream (LiveStats), over 1, 5 or 15 minutes, and the newest
 * failures. It follows only the types it draws (the counted ones:
 * queued and the finals), not each task's assigned and started.
 */
import { h, replaceChildren } from '../dom.js';
import { LineChart } from './charts.js';
import type { DashboardContext, DashboardPage } from './context.js';
import type { StreamEvent } from './live-stats.js';
import type { ClusterView, QueueView } from './types.js';
import { card, formatMs, link, rate, row, section, table } from './view-kit.js';

const RANGES = [
  { s: 60, label: '1 min' },
  { s: 300, label: '5 min' },
  { s: 900, label: '15 min' },
] as const;
const POLL_MS = 2000;
const PERCENTILES = [50, 95, 99] as const;

/** Queue depth and running tasks as sampled by the overview (kept across page switches). */
const depth: { t: number[]; queued: number[]; running: number[] } = { t: [], queued: [], running: [] };
const recentFailures: (StreamEvent & { id: number })[] = [];
let rangeS = 300;

export function noteFailure(e: StreamEvent & { id: number }): void {
  if (e.type !== 'task.failed' && e.type !== 'task.expired') return;
  recentFailures.unshift(e);
  recentFailures.length = Math.min(recentFailures.length, 20);
}

export class OverviewPage implements DashboardPage {
  private readonly cards = h('div', { class: 'cards', id: 'cards' });
  private readonly throughputEl = h('div', { class: 'chart', id: 'chart-throughput' });
  private readonly depthEl = h('div', { class: 'chart', id: 'chart-depth' });
  private readonly latency = h('div', { id: 'latency' });
  private readonly queue = h('div', { id: 'queue-by-kind' });
  private readonly failures = h('div', { id: 'recent-failures' });
  private readonly ranges = h('div', { class: 'ranges', role: 'group', 'aria-label': 'Time range' });
  private polls = 0;
  private throughput: LineChart | undefined;
  private depthChart: LineChart | undefined;
  private readonly poll: ReturnType<typeof setInterval>;
  private readonly tick: ReturnType<typeof setInterval>;
  /** Nothing beyond what `stats` counts (its charts and the failures list are drawn from those). */
  readonly eventTypes: readonly string[] = [];

  constructor(
    root: HTMLElement,
    private readonly ctx: DashboardContext,
    private readonly onCluster: (c: ClusterView) => void,
  ) {
    this.renderRanges();
    replaceChildren(root, [
      section('Cluster', [this.cards], { id: 'overview' }),
      h('div', { class: 'panel-row' }, [
        section('Throughput and failures (tasks/s)', [this.ranges, this.throughputEl]),
        section('Queue depth and running', [this.depthEl]),
      ]),
      h('div', { class: 'panel-row' }, [
        section('Latency (finished tasks in the range)', [this.latency]),
        section('Queue by kind and priority', [this.queue]),
      ]),
      section('Recent failures', [this.failures]),
    ]);
    this.throughput = new LineChart(this.throughputEl, [
      { label: 'submitted', color: '#5b8def' },
      { label: 'succeeded', color: '#2fa36b' },
      { label: 'failed', color: '#e5484d' },
    ], 'per s');
    this.depthChart = new LineChart(this.depthEl, [
      { label: 'queued', color: '#f0a640' },
      { label: 'running', color: '#5b8def' },
    ], 'tasks');
    this.poll = setInterval(() => void this.refresh().catch(() => undefined), POLL_MS);
    this.tick = setInterval(() => this.draw(), 1000);
  }

  private renderRanges(): void {
    replaceChildren(
      this.ranges,
      RANGES.map((r) => {
        const b = h('button', { type: 'button', class: `button ghost small${r.s === rangeS ? ' active' : ''}`, 'aria-pressed': String(r.s === rangeS), 'data-range': r.s }, [r.label]);
        b.addEventListener('click', () => {
          rangeS = r.s;
          this.renderRanges();
          this.draw();
        });
        return b;
      }),
    );
  }

  async refresh(): Promise<void> {
    // The queue breakdown scans queued tasks: every third poll is enough.
    const withQueue = this.polls++ % 3 === 0;
    const [c, q] = await Promise.all([
      this.ctx.api.get<ClusterView>('/api/v1/cluster'),
      withQueue ? this.ctx.api.get<QueueView>('/api/v1/dashboard/queue') : Promise.resolve(undefined),
    ]);
    this.onCluster(c);
    depth.t.push(Date.now() / 1000);
    depth.queued.push(c.queued);
    depth.running.push(c.running);
    if (depth.t.length > 450) for (const a of [depth.t, depth.queued, depth.running]) a.shift();
    const totals = this.ctx.stats.totals;
    replaceChildren(this.cards, [
      card('workers-online', 'Workers online', String(c.workers.online), `${c.workers.offline} offline`),
      card('workers-busy', 'Busy', String(c.workers.busy), `${c.workers.idle} idle`),
      card('workers-draining', 'Draining', String(c.workers.draining)),
      card('queued', 'Queued', String(c.queued)),
      card('running', 'Running', String(c.running), `capacity ${c.capacity}`),
      card('submitted-rate', 'Submitted', rate(c.submitted_per_s)),
      card('completed-rate', 'Completed', rate(c.completed_per_s)),
      card('succeeded', 'Succeeded (seen)', String(totals.succeeded), 'events seen by this page'),
      card('failed', 'Failed (seen)', String(totals.failed + totals.expired), `${totals.cancelled} cancelled`),
    ]);
    if (q) this.drawQueue(q);
    this.draw();
  }

  private drawQueue(q: QueueView): void {
    replaceChildren(this.queue, [
      table(
        'Queued tasks by kind and priority',
        ['Kind', 'Priority', 'Queued'],
        q.groups.map((g) => row([link(`#/queue?kind=${encodeURIComponent(g.kind)}`, g.kind), g.priority, g.queued], { 'data-kind': g.kind }, ['kind', 'priority', 'queued'])),
        'The queue is empty.',
      ),
      q.truncated ? h('p', { class: 'muted small' }, [`Counted the newest ${q.total} queued tasks.`]) : null,
    ]);
  }

  onEvent(e: StreamEvent & { id: number }): void {
    if (e.type === 'task.failed' || e.type === 'task.expired') this.drawFailures();
  }

  private draw(): void {
    const now = Date.now();
    this.ctx.stats.prune(now);
    const s = this.ctx.stats.series(now, rangeS);
    this.throughput?.setData(s.x, [s.submitted, s.succeeded, s.failed]);
    const from = now / 1000 - rangeS;
    const i = depth.t.findIndex((t) => t >= from);
    const at = i < 0 ? depth.t.length : i;
    this.depthChart?.setData(depth.t.slice(at), [depth.queued.slice(at), depth.running.slice(at)]);
    const p = this.ctx.stats.percentiles(now, rangeS, PERCENTILES);
    replaceChildren(this.latency, [
      table(
        'Latency percentiles',
        ['', ...PERCENTILES.map((x) => `p${x}`)],
        [
          row(['Queue wait', ...p.queueWait.map(formatMs)], { 'data-metric': 'queue-wait' }, ['name', 'p50', 'p95', 'p99']),
          row(['Run time', ...p.run.map(formatMs)], { 'data-metric': 'run' }, ['name', 'p50', 'p95', 'p99']),
        ],
      ),
      h('p', { class: 'muted small', id: 'latency-count' }, [`${p.count} finished tasks in the last ${RANGES.find((r) => r.s === rangeS)?.label}`]),
    ]);
    this.drawFailures();
  }

  private drawFailures(): void {
    replaceChildren(this.failures, [
      table(
        'Recent failures',
        ['Time', 'Task', 'Kind', 'Worker', 'Error'],
        recentFailures.map((e) =>
          row([new Date(e.ts).toLocaleTimeString(), link(`#/tasks/${encodeURIComponent(e.task_id ?? '')}`, e.task_id ?? '?', { class: 'mono' }), e.kind, e.worker_id, e.error ? `${e.error.code}: ${e.error.message}` : e.type], { 'data-task-id': e.task_id ?? '' }),
        ),
        'No failures seen.',
      ),
    ]);
  }

  dispose(): void {
    clearInterval(this.poll);
    clearInterval(this.tick);
    this.throughput?.destroy();
    this.depthChart?.destroy();
  }
}
