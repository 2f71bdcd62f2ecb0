import { describe, expect, it } from 'vitest';
import { Topics, assertId } from '../../common/topics.js';
import { ResultTokens } from '../../common/result-token.js';

describe('Topics', () => {
  const t = new Topics('taskwire/v1');
  it('builds and parses every topic', () => {
    expect(t.parse(t.workerStatus('w-1'))).toEqual({ kind: 'worker', workerId: 'w-1', channel: 'status' });
    expect(t.parse(t.workerTasks('w-1'))).toEqual({ kind: 'worker', workerId: 'w-1', channel: 'tasks' });
    expect(t.parse(t.workerControl('w-1'))).toEqual({ kind: 'worker', workerId: 'w-1', channel: 'control' });
    expect(t.parse(t.masterStatus())).toEqual({ kind: 'master-status' });
    expect(t.parse(t.clusterStatus())).toEqual({ kind: 'cluster-status' });
    expect(t.parse(t.log('master'))).toEqual({ kind: 'log', source: 'master' });
  });
  it('ignores foreign or malformed topics', () => {
    for (const topic of ['other/workers/w/status', 'taskwire/v1/workers/w/other', 'taskwire/v1/workers/a/b/status', 'taskwire/v1/workers/$bad/status', 'taskwire/v1']) {
      expect(t.parse(topic)).toBeUndefined();
    }
  });
  it('validates ids and roots', () => {
    expect(() => assertId('a/b')).toThrow();
    expect(() => assertId('+')).toThrow();
    expect(() => new Topics('a/#')).toThrow();
    expect(() => new Topics('$SYS/x')).toThrow();
    expect(new Topics('prod/taskwire/v1').workerTasks('w')).toBe('prod/taskwire/v1/workers/w/tasks');
  });
});

describe('ResultTokens', () => {
  it('verifies only the exact task, attempt and worker', () => {
    const tokens = new ResultTokens('0123456789abcdef0123456789abcdef');
    const tok = tokens.issue('t1', 1, 'w1');
    expect(tokens.verify(tok, 't1', 1, 'w1')).toBe(true);
    expect(tokens.verify(tok, 't1', 2, 'w1')).toBe(false);
    expect(tokens.verify(tok, 't2', 1, 'w1')).toBe(false);
    expect(tokens.verify(tok, 't1', 1, 'w2')).toBe(false);
    expect(tokens.verify(`${tok.slice(0, -1)}A`, 't1', 1, 'w1')).toBe(tok.endsWith('A'));
    expect(tokens.verify('', 't1', 1, 'w1')).toBe(false);
    expect(new ResultTokens('another-secret-of-32-bytes-length').verify(tok, 't1', 1, 'w1')).toBe(false);
  });
});

import { newTaskId } from '../../common/task-id.js';

describe('task ids', () => {
  it('are UUIDv7-shaped, unique and sorted by creation time', () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => newTaskId(1_700_000_000_000 + Math.floor(i / 3000)));
    for (const id of ids.slice(0, 5)) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });
});
