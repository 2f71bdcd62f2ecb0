/**
 * Per-task subscriptions to chunks and the final state, fed once from
 * the task event stream (O(1) per event, whatever the number of watchers).
 */
import type { TaskChunkEvent } from '../../common/socket-events.js';
import { TERMINAL_STATUSES, type TaskView } from '../../common/task-view.js';
import { type TaskRecord, taskView } from './task-record.js';
import type { TaskService } from './task-service.js';
import { FINAL_EVENT_TYPES } from './task-events.js';

export interface TaskWatcher {
  chunk(c: TaskChunkEvent): void;
  done(t: TaskView): void;
}

export class TaskWatchers {
  private readonly watchers = new Map<string, Set<TaskWatcher>>();

  constructor(private readonly tasks: TaskService) {
    tasks.events.on('task.chunk', (e) => {
      const set = this.watchers.get(e.task_id);
      if (set) for (const w of set) w.chunk({ id: e.task_id, attempt: e.attempt, seq: e.chunk_seq, text: e.text, data: e.data as TaskChunkEvent['data'] });
    });
    tasks.events.on(FINAL_EVENT_TYPES, (_e, t) => this.finished(t));
  }

  /** A chunk of a task another master runs (multi-master: master/cluster-relay/). */
  chunk(c: TaskChunkEvent): void {
    const set = this.watchers.get(c.id);
    if (set) for (const w of set) w.chunk(c);
  }

  /** Multi-master chunk relay: told when a task gets its first watcher here (on) and loses its last (off). */
  useInterest(interest: (id: string, on: boolean) => void): void {
    this.interest = interest;
  }

  private interest: ((id: string, on: boolean) => void) | undefined;

  /** Whether someone here waits for the task. */
  watching(id: string): boolean {
    return this.watchers.has(id);
  }

  /**
   * The task's final state, also when another master finished it
   * (multi-master: master/store/postgres-cluster.ts reads it from the database).
   */
  finished(t: TaskRecord): void {
    const set = this.watchers.get(t.id);
    if (!set) return;
    this.watchers.delete(t.id);
    this.interest?.(t.id, false);
    const view = taskView(t);
    for (const w of set) w.done(view);
  }

  /** Subscribes; a task that already finished gets `done` at once. Returns the unsubscribe. */
  watch(id: string, watcher: TaskWatcher): () => void {
    const t = this.tasks.get(id);
    if (t && TERMINAL_STATUSES.has(t.status)) {
      watcher.done(taskView(t));
      return () => undefined;
    }
    let set = this.watchers.get(id);
    if (!set) {
      this.watchers.set(id, (set = new Set()));
      this.interest?.(id, true);
    }
    set.add(watcher);
    return () => {
      const s = this.watchers.get(id);
      if (!s) return;
      s.delete(watcher);
      if (s.size > 0) return;
      this.watchers.delete(id);
      this.interest?.(id, false);
    };
  }
}
