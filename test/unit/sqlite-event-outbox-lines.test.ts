import { it, expect } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventOutbox } from '../../master/events/sqlite-event-outbox.js';
it('tab lines', async () => {
  const o = new SqliteEventOutbox(join(mkdtempSync(join(tmpdir(), 'ob-')), 'events.db'));
  const evs = [
    { seq: 1, ts: 5, tenant: 'default', type: 'task.queued', task_id: 'T1', kind: 'echo', attempt: 0, session_id: null, priority: 0 },
    { seq: 2, ts: 6, tenant: 'default', type: 'worker.online', worker_id: 'w-1' },
    { seq: 3, ts: 7, tenant: 'default', type: 'config.changed', actor: 'a\tb\nc', role: 'admin', target: 'x', scope: 's', before: null, after: { a: 1 } },
  ] as never[];
  await new Promise<void>((r, j) => o.append(evs, (e) => (e ? j(e) : r())));
  const got = await o.after(0, {}, 10);
  expect(got.map((g: { id: number }) => g.id)).toEqual([1, 2, 3]);
  expect(got.map((g: { event: unknown }) => g.event)).toEqual(evs);
  expect(await o.after(0, { workerId: 'w-1' }, 10)).toHaveLength(1);
  expect(await o.after(0, { kind: 'echo' }, 10)).toHaveLength(1);
});
