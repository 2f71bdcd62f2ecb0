/**
 * Several masters: the image tasks of this master's batches that may end on
 * another master (back in the shared pool after their master went away, or
 * pooled from the start). Each is watched through the task watchers, whose
 * `done` (another master announced its final) has the batch service read the
 * final from the store; while any is watched the shared event stream is
 * followed, so an image another master's worker runs shows `running` here.
 */
import { TERMINAL_STATUSES } from '../../common/task-view.js';
import type { TaskRecord } from '../core/task-record.js';
import type { TaskService } from '../core/task-service.js';
import type { StoredEvent } from '../events/event-outbox.js';
import type { BatchServiceOptions } from './batch-service-options.js';

/** The shared stream's events that move a watched image task between queued and running on another master. */
const REMOTE_START_FILTER = { types: new Set(['task.assigned', 'task.started', 'task.retried']), kind: 'image' } as const;

/** Followed tasks of other masters looked up per take-over round, in case their final's notice was missed. */
const RECHECK_PER_ROUND = 100;

const isFinal = (t: TaskRecord) => TERMINAL_STATUSES.has(t.status);

/** What the batch service is told. */
export interface RemoteImageTasksHost {
  /** A watched task is final (as read here). */
  onFinal(task: TaskRecord): void;
  /** A watched task started or was queued again on another master: its images' `batch.image`. */
  onMoved(taskId: string): void;
}

export class RemoteImageTasks {
  /** Followed tasks that may end on another master, with their watch's unsubscribe. */
  private readonly remote = new Map<string, () => void>();
  /** Of those, the ones another master started, by the worker running them (from the shared event stream). */
  private readonly startedElsewhere = new Map<string, string>();
  /** The shared event stream's follower while `remote` is not empty. */
  private unfollowEvents: (() => void) | undefined;

  constructor(
    private readonly tasks: TaskService,
    private readonly options: Pick<BatchServiceOptions, 'watchers' | 'events'>,
    private readonly host: RemoteImageTasksHost,
  ) {}

  /**
   * Watches task `id` on the other masters too (nothing without watchers,
   * i.e. one master); its final is read from the store when another master
   * announces it.
   */
  follow(id: string): void {
    const watchers = this.options.watchers;
    if (!watchers || this.remote.has(id)) return;
    const done = () => {
      this.remote.get(id)?.();
      this.remote.delete(id);
      this.forget(id);
      const t = this.tasks.get(id);
      if (t && isFinal(t)) this.host.onFinal(t);
    };
    this.remote.set(id, () => undefined);
    this.unfollowEvents ??= this.options.events?.follow({ filter: REMOTE_START_FILTER, deliver: (batch) => this.onEvents(batch) });
    const off = watchers.watch(id, { chunk: () => undefined, done });
    if (this.remote.has(id)) this.remote.set(id, off);
    else off();
  }

  /** Task `id` ended (its final seen here): no longer watched. */
  end(id: string): void {
    const off = this.remote.get(id);
    if (off) (this.remote.delete(id), off(), this.forget(id));
  }

  /** The worker of another master running task `id`, as its events said. */
  runningOn(id: string): string | undefined {
    return this.startedElsewhere.get(id);
  }

  /**
   * Asks the store about up to `limit` watched tasks (the oldest watches
   * first; each checked goes to the back), in case their final's notice was
   * missed, so a big batch costs a few reads a round.
   */
  async recheck(limit = RECHECK_PER_ROUND): Promise<void> {
    for (const [id, off] of [...this.remote].slice(0, limit)) {
      this.remote.delete(id);
      this.remote.set(id, off);
      await this.tasks.store.preload?.({ id });
      const t = this.tasks.get(id);
      if (t && isFinal(t)) this.host.onFinal(t);
    }
  }

  /** Stops every watch and the stream's follower. */
  close(): void {
    for (const off of this.remote.values()) off();
    this.remote.clear();
    this.forget();
  }

  /** Drops task `id`'s remote running state (all with no id); stops following the stream once nothing is watched. */
  private forget(id?: string): void {
    if (id === undefined) this.startedElsewhere.clear();
    else this.startedElsewhere.delete(id);
    if (this.remote.size === 0 && this.unfollowEvents) {
      this.unfollowEvents();
      this.unfollowEvents = undefined;
    }
  }

  /**
   * Image task events of every master: a watched task that another master
   * assigned or started is running there; one retried is queued again. A
   * task this master runs itself is read off its own record (and its own
   * events already made the `batch.image`).
   */
  private onEvents(batch: readonly StoredEvent[]): void {
    for (const { event: e } of batch) {
      const id = 'task_id' in e ? e.task_id : null;
      if (id === null || !this.remote.has(id)) continue;
      const local = this.tasks.get(id);
      if (local && (local.status === 'running' || local.status === 'assigned' || isFinal(local))) continue;
      const was = this.startedElsewhere.get(id);
      if (e.type === 'task.retried') {
        if (was === undefined) continue;
        this.startedElsewhere.delete(id);
      } else if ('worker_id' in e && e.worker_id && was !== e.worker_id) {
        this.startedElsewhere.set(id, e.worker_id);
      } else continue;
      this.host.onMoved(id);
    }
  }
}
