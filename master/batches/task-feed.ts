/**
 * How the batch module hears about tasks without the core calling it: the
 * task event stream (master/core/task-events.ts) when the TaskService has
 * one, else TaskService's own `done` event. Only final states matter here;
 * "running" is read live from the task records.
 */
import type { TaskRecord } from '../core/task-record.js';
import type { TaskService } from '../core/task-service.js';

const FINALS = ['task.succeeded', 'task.failed', 'task.cancelled', 'task.expired'];

interface EventStream {
  on(types: readonly string[], listener: (event: unknown, subject: TaskRecord) => void): () => void;
}
interface DoneEmitter {
  on(event: 'done', listener: (task: TaskRecord) => void): unknown;
  off(event: 'done', listener: (task: TaskRecord) => void): unknown;
}

/** Calls `listener` with each task that reached a final state; returns the unsubscribe. */
export function onTaskFinal(tasks: TaskService, listener: (task: TaskRecord) => void): () => void {
  const t = tasks as unknown as { events?: EventStream } & Partial<DoneEmitter>;
  if (t.events && typeof t.events.on === 'function') return t.events.on(FINALS, (_e, task) => listener(task));
  const emitter = tasks as unknown as DoneEmitter;
  emitter.on('done', listener);
  return () => emitter.off('done', listener);
}
