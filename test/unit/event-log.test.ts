import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TaskEvents } from '../../master/core/task-events.js';
import { EventLog } from '../../master/events/event-log.js';
import { MemoryEventOutbox, type EventOutbox } from '../../master/events/event-outbox.js';
import { SqliteEventOutbox } from '../../master/events/sqlite-event-outbox.js';
import { silentLogger } from '../../common/logger.js';
import { waitFor } from '../helpers/cluster.js';

const tick = () => new Promise((r) => setImmediate(r));

async function exercise(outbox: () => EventOutbox) {
  let now = 1_000_000;
  const events = new TaskEvents(() => now);
  const log = new EventLog(events, outbox(), silentLogger(), () => now, { retentionMs: 60_000, pruneChunkRows: 3 });
  const seen: number[] = [];
  log.follow({ filter: {}, deliver: (b) => seen.push(...b.map((s) => s.id)) });
  const subject = {} as never;
  for (let i = 0; i < 10; i++) events.publish('task.queued', { task_id: `t${i}`, kind: 'echo', attempt: 0, session_id: null, priority: 0 }, subject);
  events.publish('task.chunk', { task_id: 't0', kind: 'echo', attempt: 1, session_id: null, chunk_seq: 1, text: 'x', data: null }, subject);
  await tick();
  await waitFor(() => seen.length >= 10, 'ten events kept and delivered');
  expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]); // chunks are live only, not kept
  expect(log.after(7, {}, 100).map((s) => s.id)).toEqual([8, 9, 10]);
  expect(log.after(0, { taskId: 't3' }, 100).map((s) => s.event.type)).toEqual(['task.queued']);
  now += 120_000;
  events.publish('worker.online', { worker_id: 'w' }, subject);
  await waitFor(() => seen.length >= 11, 'the eleventh event');
  expect(await log.prune()).toBe(10); // in chunks of 3
  expect(log.after(0, {}, 100).map((s) => s.id)).toEqual([11]);
  await log.close();
}

describe('event log', () => {
  it('memory outbox: ids, delivery after keeping, filters, chunked pruning', () => exercise(() => new MemoryEventOutbox()));

  it('memory outbox: a full ring keeps the newest events with their ids', async () => {
    const box = new MemoryEventOutbox(100);
    const ev = (i: number) => ({ seq: i, ts: i, tenant: 'default', type: 'worker.online', worker_id: `w${i}` }) as const;
    let ids: number[] = [];
    for (let i = 1; i <= 250; i += 10) ids = box.append(Array.from({ length: 10 }, (_, k) => ev(i + k)), () => {});
    expect(ids).toEqual(Array.from({ length: 10 }, (_, k) => 241 + k));
    expect(box.lastId).toBe(250);
    const all = box.after(0, {}, 1000);
    expect(all.map((s) => s.id)).toEqual(Array.from({ length: 100 }, (_, k) => 151 + k));
    expect(all.every((s) => s.event.seq === s.id)).toBe(true);
    expect(box.after(240, { workerId: 'w245' }, 10).map((s) => s.id)).toEqual([245]);
    expect(await box.prune(161, 1000)).toBe(10); // ts 151..160
    expect(box.after(0, {}, 1).map((s) => s.id)).toEqual([161]);
    expect(await box.prune(10_000, 1000)).toBe(90);
    expect(box.lastId).toBe(250);
    expect(box.append([ev(251)], () => {})).toEqual([251]);
  });

  it('SQLite outbox: the same, ids continue after reopening, file 0600', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tw-evlog-'));
    try {
      const path = join(dir, 'events.db');
      await exercise(() => new SqliteEventOutbox(path));
      expect(statSync(path).mode & 0o777).toBe(0o600);
      const again = new SqliteEventOutbox(path);
      expect(again.lastId).toBe(11);
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
