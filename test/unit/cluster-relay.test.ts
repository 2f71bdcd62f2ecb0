/**
 * The chunk relay's two sides as plain objects (master/cluster-relay/): the
 * running master's sender (targets from the interest lookup and from later
 * announcements, batching per target, the catch-up of a late interest) and
 * the interested master's receiver (de-duplication, one end per task, the
 * end from the durable outbox when no `done` came, interest writes).
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../common/logger.js';
import { Topics } from '../../common/topics.js';
import { ClusterPolicy } from '../../master/transport/broker-policy.js';
import { TaskEvents } from '../../master/core/task-events.js';
import type { TaskRecord } from '../../master/core/task-record.js';
import type { StoredEvent } from '../../master/events/event-outbox.js';
import { RelayReceiver } from '../../master/cluster-relay/relay-receiver.js';
import { RelaySender } from '../../master/cluster-relay/relay-sender.js';
import { encodeRelay, type RelayItem, type RelayMessage } from '../../master/cluster-relay/relay-wire.js';

const turn = () => new Promise<void>((r) => setImmediate(r));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const record = (id: string, o: Partial<TaskRecord> = {}) => ({ id, tenant: 'default', kind: 'echo', stream: true, sessionId: null, finishedAtMs: null, status: 'running', attempt: 1, createdAtMs: 0, assignedAtMs: null, startedAtMs: null, firstChunkAtMs: null, history: [], ...o }) as unknown as TaskRecord;

function sender(lookup: Map<string, string[]>, peek: Record<string, { attempt: number; seq: number; text: string }> = {}) {
  const events = new TaskEvents(() => 0);
  const sent: { target: string; msg: RelayMessage }[] = [];
  const keysAsked: string[][] = [];
  const s = new RelaySender({
    me: 'm1',
    events,
    lookup: async (keys) => (keysAsked.push([...keys]), new Map([...lookup].filter(([k]) => keys.includes(k)))),
    publish: (target, payload) => (sent.push({ target, msg: JSON.parse(payload.toString()) as RelayMessage }), true),
    peek: (id) => peek[id],
    log: silentLogger(),
  });
  const assign = (id: string, sessionId: string | null, stream = true) =>
    events.publish('task.assigned', { task_id: id, kind: 'echo', attempt: 1, session_id: sessionId, owner: null, worker_id: 'w' }, record(id, { stream, sessionId }));
  const chunk = (id: string, sessionId: string | null, seq: number, text: string) =>
    events.publish('task.chunk', { task_id: id, kind: 'echo', attempt: 1, session_id: sessionId, owner: null, chunk_seq: seq, text, data: null }, record(id, { sessionId }));
  const finish = (id: string, sessionId: string | null) =>
    events.publish('task.succeeded', { task_id: id, kind: 'echo', attempt: 1, session_id: sessionId, owner: null, worker_id: 'w', error: null, queue_wait_ms: 1, run_ms: 1 }, record(id, { sessionId, status: 'succeeded' }));
  return { s, events, sent, keysAsked, assign, chunk, finish };
}

describe('RelaySender', () => {
  it('relays a streamed task to the masters interested in it or its session, in order, batched per turn; nothing for others', async () => {
    const { s, sent, keysAsked, assign, chunk, finish } = sender(new Map([['s:S1', ['m2']], ['t:T1', ['m3', 'm1']]]));
    assign('T1', 'S1');
    assign('T2', null); // no one interested
    assign('T3', 'S9', false); // not streamed, but a session's: looked up for its task:update views
    assign('T4', null, false); // neither: never looked up
    await turn();
    await turn();
    expect(keysAsked).toEqual([['t:T1', 's:S1', 't:T2', 't:T3', 's:S9']]);
    // The session's master (m2) got T1's assigned view when its lookup came back.
    expect(sent.map((m) => `${m.target}:${m.msg.items.map((i) => i.type).join(',')}`)).toEqual(['m2:update']);
    sent.length = 0;
    chunk('T1', 'S1', 1, 'a ');
    chunk('T1', 'S1', 2, 'b');
    chunk('T2', null, 1, 'x');
    finish('T1', 'S1');
    finish('T2', null);
    finish('T3', 'S9');
    await turn();
    const byTarget = new Map(sent.map((m) => [m.target, m.msg]));
    expect([...byTarget.keys()].sort()).toEqual(['m2', 'm3']); // never itself (m1)
    for (const msg of byTarget.values()) {
      expect(msg.from).toBe('m1');
      expect(msg.items.map((i) => (i.type === 'chunk' ? `${i.seq}:${i.text}` : `${i.type}:${i.task_id}`))).toEqual(['1:a ', '2:b', 'done:T1']);
    }
    expect(sent).toHaveLength(2); // one message per target for the turn
    expect(s.size).toBe(0);
  });

  it('a follower on another master mid-stream gets the text so far as one chunk, then the rest; a session socket arriving mid-stream its last view and each chunk so far, then the rest; an announcement during the lookup is kept', async () => {
    const { s, sent, assign, chunk, finish } = sender(new Map(), { T1: { attempt: 1, seq: 3, text: 'one two three' } });
    assign('T1', 'S1');
    s.interest('s:S1', 'm4'); // announced while the lookup is out
    chunk('T1', 'S1', 1, 'one ');
    chunk('T1', 'S1', 2, 'two ');
    chunk('T1', 'S1', 3, 'three');
    await turn();
    await turn();
    s.interest('t:T1', 'm5');
    s.interest('t:T1', 'm5'); // twice: once
    s.interest('t:other', 'm6');
    s.interest('s:S1', 'm7'); // the session's socket came to m7 mid-stream (a browser that reconnected there)
    chunk('T1', 'S1', 4, ' four');
    finish('T1', 'S1');
    await turn();
    const items = (t: string) => sent.filter((m) => m.target === t).flatMap((m) => m.msg.items) as RelayItem[];
    const show = (i: RelayItem) => (i.type === 'chunk' ? `${i.seq}:${i.text}` : i.type === 'update' ? `update:${i.view.status}` : 'done');
    // A session's browser drops the chunks it has by seq: one by one, not merged.
    expect(items('m4').map(show)).toEqual(['update:running', '1:one ', '2:two ', '3:three', '4: four', 'done']);
    expect(items('m5').map(show)).toEqual(['3:one two three', '4: four', 'done']);
    expect(items('m6')).toEqual([]);
    expect(items('m7').map(show)).toEqual(['update:running', '1:one ', '2:two ', '3:three', '4: four', 'done']);
    expect(s.stats.catchUps).toBe(3);
  });

  it("a session's buffer keeps the current attempt's newest chunks within its bound; a retry starts it over and sends its view", async () => {
    const events = new TaskEvents(() => 0);
    const sent: RelayItem[] = [];
    const s = new RelaySender({
      me: 'm1',
      events,
      lookup: async () => new Map(),
      publish: (_t, payload) => (sent.push(...(JSON.parse(payload.toString()) as RelayMessage).items), true),
      peek: () => undefined,
      log: silentLogger(),
      maxBufferChars: 10,
    });
    const t = record('T1', { sessionId: 'S1', stream: false });
    events.publish('task.assigned', { task_id: 'T1', kind: 'echo', attempt: 1, session_id: 'S1', owner: null, worker_id: 'w' }, t);
    await turn();
    await turn();
    for (let i = 1; i <= 4; i++) events.publish('task.chunk', { task_id: 'T1', kind: 'echo', attempt: 1, session_id: 'S1', owner: null, chunk_seq: i, text: 'abcd', data: null }, t);
    s.interest('s:S1', 'm2');
    await turn();
    const show = (i: RelayItem) => (i.type === 'chunk' ? `${i.attempt}/${i.seq}` : i.type === 'update' ? `update:${i.view.status}/${i.view.attempt}` : 'done');
    expect(sent.map(show)).toEqual(['update:running/1', '1/3', '1/4']); // 8 of 16 characters: the newest that fit
    sent.length = 0;
    const retried = record('T1', { sessionId: 'S1', stream: false, status: 'queued', attempt: 2 });
    events.publish('task.retried', { task_id: 'T1', kind: 'echo', attempt: 1, session_id: 'S1', owner: null, code: 'WORKER_LOST', reason: 'worker lost', delay_ms: 0 }, retried);
    events.publish('task.chunk', { task_id: 'T1', kind: 'echo', attempt: 2, session_id: 'S1', owner: null, chunk_seq: 1, text: 'x', data: null }, retried);
    s.interest('s:S1', 'm2'); // the browser left m2 and came back
    await turn();
    expect(sent.map(show)).toEqual(['update:queued/2', '2/1', 'update:queued/2', '2/1']);
  });
});

function receiver(rows: Map<string, TaskRecord>) {
  const events = new TaskEvents(() => 0);
  const chunks: string[] = [];
  const done: string[] = [];
  const writes: string[] = [];
  const updates: string[] = [];
  const r = new RelayReceiver({
    events,
    store: { preload: async () => undefined, get: (id) => rows.get(id) },
    interests: { add: async (k) => void writes.push(...k.map((x) => `+${x}`)), remove: async (k) => void writes.push(...k.map((x) => `-${x}`)) },
    sinks: { chunk: (c) => chunks.push(`${c.task_id}/${c.attempt}/${c.seq}:${c.text}`), done: (t) => done.push(t.id), update: (s, v) => updates.push(`${s}/${v.id}:${v.status}`) },
    log: silentLogger(),
    graceMs: 20,
  });
  const message = (items: RelayItem[]) => r.onMessage(encodeRelay('m2', items));
  const c = (task: string, attempt: number, seq: number, text: string): RelayItem => ({ type: 'chunk', task_id: task, session_id: 'S1', attempt, seq, text, data: null });
  return { r, events, chunks, done, writes, updates, message, c };
}

const finalEvent = (id: string, sessionId: string | null): StoredEvent =>
  ({ id: 1, event: { type: 'task.succeeded', seq: 1, ts: 0, tenant: 'default', task_id: id, kind: 'echo', attempt: 1, session_id: sessionId, worker_id: 'w', error: null, queue_wait_ms: 1, run_ms: 1 } }) as StoredEvent;

describe('RelayReceiver', () => {
  it('hands on each chunk once, in attempt and seq order, and each end once (read from the store)', async () => {
    const rows = new Map([['T1', record('T1', { finishedAtMs: 5, status: 'succeeded' })]]);
    const { chunks, done, message, c, r } = receiver(rows);
    message([c('T1', 1, 1, 'a'), c('T1', 1, 2, 'b')]);
    message([c('T1', 1, 2, 'b'), c('T1', 1, 1, 'a'), c('T1', 2, 1, 'A')]); // a repeated catch-up, then a retry's attempt
    message([c('T1', 1, 3, 'late')]); // the earlier attempt's: void
    message([{ type: 'done', task_id: 'T1', session_id: 'S1' }, { type: 'done', task_id: 'T1', session_id: 'S1' }]);
    await sleep(10);
    message([c('T1', 2, 2, 'after the end')]);
    expect(chunks).toEqual(['T1/1/1:a', 'T1/1/2:b', 'T1/2/1:A']);
    expect(done).toEqual(['T1']);
    expect(r.stats.duplicates).toBe(4);
    r.onMessage(Buffer.from('{"v":1,"from":"m2","items":[{"type":"chunk"}]}'));
    r.onMessage(Buffer.from('not json'));
    expect(r.stats.invalid).toBe(2);
  });

  it('without a done, the durable final event of a watched session or task ends it after the grace; not for unwatched or locally finished tasks', async () => {
    const fin = (id: string, sessionId: string | null) => record(id, { finishedAtMs: 5, status: 'succeeded', sessionId });
    const rows = new Map(['T1', 'T2', 'T3', 'T4'].map((id) => [id, fin(id, id === 'T2' ? null : 'S1')]));
    const { r, events, done, writes } = receiver(rows);
    r.watchSession('S1', true);
    r.watchTask('T2', true); // already finished elsewhere: read once at once
    await sleep(5);
    expect(done).toEqual(['T2']);
    // T3 ended on this master: its own subscribers told its clients.
    events.publish('task.succeeded', { task_id: 'T3', kind: 'echo', attempt: 1, session_id: 'S1', owner: null, worker_id: 'w', error: null, queue_wait_ms: 1, run_ms: 1 }, fin('T3', 'S1'));
    r.onDurable([finalEvent('T1', 'S1'), finalEvent('T2', null), finalEvent('T3', 'S1'), finalEvent('T4', 'S-other')]);
    expect(done).toEqual(['T2']); // not before the grace: a done may still come, after the chunks
    await sleep(60);
    expect(done).toEqual(['T2', 'T1']);
    expect(r.stats.fromOutbox).toBe(1);
    r.watchTask('T2', false);
    r.watchSession('S1', false);
    await turn();
    expect(writes).toEqual(['+s:S1', '+t:T2', '-t:T2', '-s:S1']);
    r.close();
  });
});

describe('relay topics on the broker', () => {
  it('only master identities publish or read {root}/masters/{id}/chunks (workers, observers and anonymous readers do not)', () => {
    const topics = new Topics('taskwire/v1');
    const policy = new ClusterPolicy({ topics, master: { username: 'm', password: 'pw' }, clusterToken: 'tok', observerPassword: 'obs', anonymousRead: 'any' });
    const topic = topics.masterChunks('master-2');
    expect(topic).toBe('taskwire/v1/masters/master-2/chunks');
    const master = policy.authenticate({ clientId: 'master-1', username: 'm', password: Buffer.from('pw'), remoteAddress: '10.0.0.1' })!;
    const worker = policy.authenticate({ clientId: 'w-1', username: 'worker', password: Buffer.from('tok'), remoteAddress: '10.0.0.2', willTopic: topics.workerStatus('w-1') })!;
    const observer = policy.authenticate({ clientId: 'obs-1', username: 'observer', password: Buffer.from('obs'), remoteAddress: '10.0.0.3' })!;
    const anonymous = policy.authenticate({ clientId: 'a-1', username: undefined, password: undefined, remoteAddress: '10.0.0.4' })!;
    expect([master.role, worker.role, observer.role, anonymous.role]).toEqual(['master', 'worker', 'observer', 'anonymous']);
    expect(policy.canPublish(master, topic) && policy.canSubscribe(master, topic) && policy.canReceive(master, topic)).toBe(true);
    for (const c of [worker, observer, anonymous]) {
      expect(policy.canPublish(c, topic), c.role).toBe(false);
      expect(policy.canReceive(c, topic), c.role).toBe(false); // a `#` subscription gets nothing of it
    }
    expect(policy.canSubscribe(worker, topic)).toBe(false);
  });
});
