/**
 * How the batch module hears about tasks without the core calling it: it
 * subscribes to the final events of the task event stream
 * (master/core/task-events.ts). "Running" is read live from the task records.
 */
import type { TaskRecord } from '../core/task-record.js';
import type { TaskService } from '../core/task-service.js';
import { FINAL_EVENT_TYPES } from '../core/task-events.js';

/** Calls `listener` with each task that reached a final state (once durable); returns the unsubscribe. */
export function onTaskFinal(tasks: TaskService, listener: (task: TaskRecord) => void): () => void {
  return tasks.events.on(FINAL_EVENT_TYPES, (_event, task) => listener(task));
}
