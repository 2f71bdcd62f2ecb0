/**
 * The chunk relay's sender (master/cluster-relay/relay-sender.ts) and the
 * live masters: an interested master it has not seen live yet (it joined
 * since the last membership round) gets the chunks; one that was live and
 * is gone (its interest row outlives it by its lease) does not.
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../common/logger.js';
import { newTaskRecord } from '../../master/core/task-admission.js';
import { TaskEvents } from '../../master/core/task-events.js';
import { RelaySender } from '../../master/cluster-relay/relay-sender.js';
import { decodeRelay } from '../../master/cluster-relay/relay-wire.js';
import type { TaskRecord } from '../../master/core/task-record.js';

const tick = () => new Promise((r) => setImmediate(r));

function harness(live: () => string[]) {
  const events = new TaskEvents(() => 0);
  const sent: { target: string; items: { type: string; task_id: string }[] }[] = [];
  const sender = new RelaySender({
    me: 'a',
    events,
    lookup: async () => new Map(),
    publish: (target, payload) => {
      const m = decodeRelay(payload, () => undefined);
      sent.push({ target, items: (m?.items ?? []) as { type: string; task_id: string }[] });
      return true;
    },
    peek: () => undefined,
    liveMasters: live,
    log: silentLogger(),
  });
  let n = 0;
  const run = async (): Promise<TaskRecord> => {
    const t = newTaskRecord(
      { kind: 'echo', input: { text: 'x' }, stream: true },
      { input: { text: 'x' }, requirement: { kind: 'echo' }, priority: 0, bytes: 12 },
      ++n,
      0,
      { taskTimeoutMs: 1000, queueTimeoutMs: 2000, heartbeatTimeoutMs: 3000, maxAttempts: 3 },
    );
    t.stream = true;
    t.attempt = 1;
    const fields = { task_id: t.id, kind: 'echo', attempt: 1, session_id: null, owner: null };
    events.publish('task.assigned', { ...fields, worker_id: 'w' }, t);
    await tick(); // the interest lookup (none found)
    await tick();
    return t;
  };
  const chunk = (t: TaskRecord, seq: number) =>
    events.publish('task.chunk', { task_id: t.id, kind: 'echo', attempt: 1, session_id: null, owner: null, chunk_seq: seq, text: `c${seq}`, data: null }, t);
  const chunksTo = (target: string, t: TaskRecord) => sent.filter((s) => s.target === target).flatMap((s) => s.items.filter((i) => i.type === 'chunk' && i.task_id === t.id)).length;
  return { sender, run, chunk, chunksTo };
}

describe('RelaySender and the live masters', () => {
  it('relays to a master not seen live yet, and stops relaying to one that was live and is gone', async () => {
    let live = ['a'];
    const h = harness(() => live);
    // b joined after this master's last membership round: its interest is taken.
    const t1 = await h.run();
    h.sender.interest(`t:${t1.id}`, 'b');
    h.chunk(t1, 0);
    await tick();
    expect(h.chunksTo('b', t1)).toBe(1);
    // Now b is seen live, then its lease runs out: a fresh interest row of b is ignored.
    live = ['a', 'b'];
    const t2 = await h.run();
    h.sender.interest(`t:${t2.id}`, 'b');
    h.chunk(t2, 0);
    await tick();
    expect(h.chunksTo('b', t2)).toBe(1);
    live = ['a'];
    const t3 = await h.run();
    h.sender.interest(`t:${t3.id}`, 'b');
    h.chunk(t3, 0);
    await tick();
    expect(h.chunksTo('b', t3), 'b is gone').toBe(0);
    h.sender.close();
  });
});
