/**
 * The queue: queued tasks in the order they will run, per requirement (kind
 * [+ model]), with their position, estimated wait and age
 * (GET /api/v1/dashboard/queue/tasks), and cancel. Refreshes on task events.
 */
import { h, replaceChildren } from '../dom.js';
import type { DashboardContext, DashboardPage } from './context.js';
import { cancelTask } from './task-actions.js';
import type { TaskView } from './types.js';
import { ago, button, formatMs, link, row, section, table } from './view-kit.js';

/** At most one reload per this many ms while events stream in (each is a server query). */
const LIVE_REFRESH_MS = 1500;

type QueuedTask = TaskView & { model: string | null; queue_position: number; eta_ms: number | null };

export class QueuePage implements DashboardPage {
  private readonly list = h('div', { id: 'queue-list' });
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    root: HTMLElement,
    private readonly ctx: DashboardContext,
    private readonly params: URLSearchParams,
  ) {
    replaceChildren(root, [section('Queue, in the order tasks will run', [this.list], { id: 'queue' })]);
  }

  async refresh(): Promise<void> {
    const q = new URLSearchParams({ limit: '200' });
    const kind = this.params.get('kind');
    if (kind) q.set('kind', kind);
    const out = await this.ctx.api.get<{ tasks: QueuedTask[]; truncated: boolean }>(`/api/v1/dashboard/queue/tasks?${q}`);
    const now = Date.now();
    replaceChildren(this.list, [
      table(
        'Queued tasks',
        ['Position', 'Task', 'Kind / model', 'Priority', 'Waiting', 'Starts in about', 'Actions'],
        out.tasks.map((t) =>
          row(
            [
              String(t.queue_position + 1),
              link(`#/tasks/${encodeURIComponent(t.id)}`, t.id, { class: 'mono' }),
              t.model ? `${t.kind} / ${t.model}` : t.kind,
              t.priority,
              ago(now - Date.parse(t.created_at)),
              t.eta_ms === null ? '–' : formatMs(t.eta_ms),
              button('Cancel', async () => void ((await cancelTask(this.ctx, t.id)) && (await this.refresh())), { 'data-action': 'cancel' }, 'ghost'),
            ],
            { 'data-task-id': t.id, 'data-position': String(t.queue_position) },
            ['position', 'id', 'kind', 'priority', 'waiting', 'eta', 'actions'],
          ),
        ),
        'Nothing is queued.',
      ),
      out.truncated ? h('p', { class: 'muted small' }, ['Only the newest queued tasks were looked at: the oldest ones may be missing.']) : null,
    ]);
  }

  onEvent(e: { type: string }): void {
    if (!e.type.startsWith('task.') || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.refresh().catch(() => undefined);
    }, LIVE_REFRESH_MS);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}
