/**
 * The order of queued tasks within a priority (task-queue.ts): each task gets
 * a tag when it is queued, lower runs first (ties: admission order). The
 * default is FIFO (the tag is the admission seq); master/limits/fair-share.ts
 * gives weighted-fair tags across tenants. `taken` tells the order which tag
 * left the queue to run.
 */
import type { QueuedTask } from './task-queue.js';

export interface QueueOrder<T extends QueuedTask = QueuedTask> {
  tag(task: T): number;
  taken(task: T, tag: number): void;
}

export const FIFO_ORDER: QueueOrder = { tag: (t) => t.seq, taken: () => undefined };
