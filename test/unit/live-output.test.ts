/**
 * LiveOutput (master/live-output): the text of a running task's attempt
 * from its chunk events, bounded per task and in tasks, restarted by a
 * higher attempt, handed live to watchers and forgotten when the task ends.
 */
import { describe, expect, it } from 'vitest';
import { TaskEvents } from '../../master/core/task-events.js';
import type { TaskRecord } from '../../master/core/task-record.js';
import { LiveOutput } from '../../master/live-output/live-output.js';
import { newTask } from '../store/store-contract.js';

function rig(options = {}) {
  const events = new TaskEvents(() => Date.now());
  const tasks = new Map<string, TaskRecord>();
  const out = new LiveOutput(events, (id) => tasks.get(id), options);
  const running = (id: string) => {
    const t = newTask({ id, status: 'running', attempt: 1 } as Partial<TaskRecord>);
    tasks.set(id, t);
    return t;
  };
  const chunk = (t: TaskRecord, seq: number, text: string, attempt = 1) =>
    events.publish('task.chunk', { task_id: t.id, kind: t.kind, attempt, session_id: null, owner: null, chunk_seq: seq, text, data: null }, t);
  const finish = (t: TaskRecord) => {
    t.status = 'succeeded';
    events.publish('task.succeeded', { task_id: t.id, kind: t.kind, attempt: t.attempt, session_id: null, owner: null, worker_id: null, error: null, queue_wait_ms: null, run_ms: null }, t);
  };
  return { out, running, chunk, finish };
}

describe('LiveOutput', () => {
  it('keeps the text so far, hands chunks to watchers, and says done at the end', () => {
    const { out, running, chunk, finish } = rig();
    const t = running('a');
    chunk(t, 0, 'hello ');
    const got: string[] = [];
    let done: string | undefined;
    const w = out.watch('a', { chunk: (_a, _s, text) => got.push(text), done: (x) => (done = x.status) });
    expect(w.snapshot).toEqual({ attempt: 1, seq: 0, text: 'hello ', truncated: false });
    chunk(t, 1, 'world');
    chunk(t, 1, 'world'); // repeated: ignored
    expect(got).toEqual(['world']);
    finish(t);
    expect(done).toBe('succeeded');
    expect(out.size).toBe(0);
    // An ended task: done at once, no snapshot.
    let again: string | undefined;
    expect(out.watch('a', { chunk: () => undefined, done: (x) => (again = x.status) }).snapshot).toBeUndefined();
    expect(again).toBe('succeeded');
  });

  it('a higher attempt starts over; the text is a bounded tail; at most maxTasks tasks', () => {
    const { out, running, chunk } = rig({ maxTaskChars: 10, maxTasks: 3 });
    const t = running('b');
    chunk(t, 0, 'first attempt text');
    expect(out.watch('b', { chunk: () => undefined, done: () => undefined }).snapshot).toMatchObject({ text: 'tempt text', truncated: true });
    chunk(t, 0, 'again', 2);
    expect(out.watch('b', { chunk: () => undefined, done: () => undefined }).snapshot).toEqual({ attempt: 2, seq: 0, text: 'again', truncated: false });
    for (const id of ['c', 'd', 'e', 'f']) chunk(running(id), 0, id);
    expect(out.size).toBe(3); // b is watched, so kept; the unwatched oldest went
    expect(out.watch('c', { chunk: () => undefined, done: () => undefined }).snapshot?.text).toBe('');
    expect(out.watch('f', { chunk: () => undefined, done: () => undefined }).snapshot?.text).toBe('f');
  });
});
