import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryEventOutbox } from '../../master/events/event-outbox.js';
import { SqliteEventOutbox } from '../../master/events/sqlite-event-outbox.js';
import { exerciseEventLog as exercise } from './event-log-contract.js';

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
      expect(again.lastId).toBe(16);
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
