/** What every event outbox does under the event log (memory, SQLite, PostgreSQL): ids, delivery after keeping, filters, chunked pruning. */
import { expect } from 'vitest';
import { TaskEvents } from '../../master/core/task-events.js';
import { EventLog } from '../../master/events/event-log.js';
import type { EventOutbox } from '../../master/events/event-outbox.js';
import { silentLogger } from '../../common/logger.js';
import { waitFor } from '../helpers/cluster.js';

const tick = () => new Promise((r) => setImmediate(r));

export async function exerciseEventLog(outbox: () => EventOutbox | Promise<EventOutbox>): Promise<void> {
  let now = 1_000_000;
  const events = new TaskEvents(() => now);
  const log = new EventLog(events, await outbox(), silentLogger(), () => now, { retentionMs: 60_000, pruneChunkRows: 3 });
  const seen: number[] = [];
  log.follow({ filter: {}, deliver: (b) => seen.push(...b.map((s) => s.id)) });
  const subject = {} as never;
  for (let i = 0; i < 10; i++) events.publish('task.queued', { task_id: `t${i}`, kind: 'echo', attempt: 0, session_id: null, owner: null, priority: 0 }, subject);
  events.publish('task.chunk', { task_id: 't0', kind: 'echo', attempt: 1, session_id: null, owner: null, chunk_seq: 1, text: 'x', data: null }, subject);
  await tick();
  await waitFor(() => seen.length >= 10, 'ten events kept and delivered');
  expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]); // chunks are live only, not kept
  expect((await log.after(7, {}, 100)).map((s) => s.id)).toEqual([8, 9, 10]);
  expect((await log.after(0, { taskId: 't3' }, 100)).map((s) => s.event.type)).toEqual(['task.queued']);
  now += 120_000;
  events.publish('worker.online', { worker_id: 'w' }, subject);
  await waitFor(() => seen.length >= 11, 'the eleventh event');
  // Read your writes: a page asked for right after events were emitted, once settled, holds them.
  // s0, s2, s4 submitted by key-a, s1, s3 by key-b: a user key's filter (its owners) gets its own task events only.
  const ofB: string[] = [];
  log.follow({ filter: { owners: new Set(['key-b']) }, deliver: (b) => ofB.push(...b.map((s) => (s.event as { task_id: string }).task_id)) });
  for (let i = 0; i < 5; i++) events.publish('task.queued', { task_id: `s${i}`, kind: 'echo', attempt: 0, session_id: null, owner: i % 2 ? 'key-b' : 'key-a', priority: 0 }, subject);
  await log.settled();
  const taskIds = (page: { event: unknown }[]) => page.map((s) => (s.event as { task_id?: string }).task_id);
  expect(taskIds(await log.after(11, {}, 100))).toEqual(['s0', 's1', 's2', 's3', 's4']);
  expect(taskIds(await log.after(0, { owners: new Set(['key-a']) }, 100))).toEqual(['s0', 's2', 's4']); // not the worker event, not t* (no owner)
  expect(taskIds(await log.after(0, { owners: new Set(['key-a', 'key-b']) }, 2))).toEqual(['s0', 's1']);
  expect(await log.after(0, { owners: new Set() }, 100)).toEqual([]);
  await log.settled(); // nothing pending: at once
  await waitFor(() => seen.length >= 16, 'the settled events delivered too');
  await waitFor(() => ofB.length >= 2, 'key-b\'s events delivered');
  expect(ofB).toEqual(['s1', 's3']);
  expect(await log.prune()).toBe(10); // in chunks of 3
  expect((await log.after(0, {}, 100)).map((s) => s.id)).toEqual([11, 12, 13, 14, 15, 16]);

  // An image batch's progress: the batch filter keeps that batch's events only (not its tasks' task events).
  const ofBatch: string[] = [];
  log.follow({ filter: { batchId: 'b1' }, deliver: (b) => ofBatch.push(...b.map((s) => `${s.event.type}:${(s.event as { index?: number }).index ?? ''}`)) });
  const counts = { total: 2, queued: 0, running: 0, succeeded: 1, failed: 0 };
  const image = (batch: string, index: number) =>
    ({ batch_id: batch, owner: 'key-a', counts, task_id: `s${index}`, index, name: `i${index}.png`, status: 'succeeded', attempt: 1, cached: false, worker_id: 'w', output_blob: 'o', ms: 5, error: null }) as const;
  events.publish('batch.image', image('b1', 0), { tenant: 'default' });
  events.publish('batch.image', image('b2', 0), { tenant: 'default' });
  events.publish('task.succeeded', { task_id: 's1', kind: 'image', attempt: 1, session_id: null, owner: 'key-a', worker_id: 'w', error: null, queue_wait_ms: 1, run_ms: 1 }, subject);
  events.publish('batch.image', image('b1', 1), { tenant: 'default' });
  events.publish('batch.finished', { batch_id: 'b1', owner: 'key-a', counts: { ...counts, succeeded: 2 }, status: 'succeeded', ms: 9 }, { tenant: 'default' });
  await log.settled();
  const kinds = (page: { event: { type: string } }[]) => page.map((s) => `${s.event.type}:${(s.event as { index?: number }).index ?? ''}`);
  expect(kinds(await log.after(16, { batchId: 'b1' }, 100))).toEqual(['batch.image:0', 'batch.image:1', 'batch.finished:']);
  expect(kinds(await log.after(16, { batchId: 'b1', types: new Set(['batch.finished', 'task.succeeded']) }, 100))).toEqual(['batch.finished:']);
  expect(await log.after(16, { batchId: 'b1', types: new Set(['task.succeeded']) }, 100)).toEqual([]);
  expect(kinds(await log.after(16, { batchId: 'b2' }, 100))).toEqual(['batch.image:0']);
  // A user key's filter: its batches' events too (they carry the batch's owner).
  expect(kinds(await log.after(16, { owners: new Set(['key-a']), types: new Set(['batch.image']) }, 100))).toEqual(['batch.image:0', 'batch.image:0', 'batch.image:1']);
  await waitFor(() => ofBatch.length >= 3, 'the batch follower\'s events');
  expect(ofBatch).toEqual(['batch.image:0', 'batch.image:1', 'batch.finished:']);
  await log.close();
}
