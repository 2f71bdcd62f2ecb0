/**
 * Unit tests of the dashboard's pure logic (no DOM): the SSE parser the
 * fetch-based follower uses, the live statistics behind the charts and
 * percentiles, and hash routing.
 */
import { describe, expect, it } from 'vitest';
import { parseRoute } from '../../web/src/dashboard/routes.js';
import { LiveStats, percentile, WINDOW_S } from '../../web/src/dashboard/live-stats.js';
import { SseParser } from '../../web/src/dashboard/sse-parser.js';

describe('SseParser', () => {
  it('parses messages split anywhere, with ids, event names, comments and multi-line data', () => {
    const text = ': taskwire event stream\n\nid: 7\nevent: task.queued\ndata: {"a":1}\n\n: ping\n\nid: 8\r\nevent: task.failed\r\ndata: line1\r\ndata: line2\r\n\r\ndata: no id\n\n';
    for (const step of [1, 3, 7, text.length]) {
      const p = new SseParser();
      const out = [];
      for (let i = 0; i < text.length; i += step) out.push(...p.push(text.slice(i, i + step)));
      expect(out).toEqual([
        { id: '7', event: 'task.queued', data: '{"a":1}' },
        { id: '8', event: 'task.failed', data: 'line1\nline2' },
        { id: undefined, event: 'message', data: 'no id' },
      ]);
    }
  });

  it('refuses an endless line instead of growing without bound', () => {
    const p = new SseParser(100);
    expect(() => p.push('data: ' + 'x'.repeat(200))).toThrow(/longer than 100/);
  });
});

describe('LiveStats', () => {
  const t0 = 1_800_000_000_000;
  it('counts per second, ignores repeated ids, and turns buckets into rates', () => {
    const s = new LiveStats();
    s.add({ type: 'task.queued', ts: t0 }, 1);
    s.add({ type: 'task.queued', ts: t0 + 10 }, 2);
    s.add({ type: 'task.succeeded', ts: t0 + 500, queue_wait_ms: 10, run_ms: 100 }, 3);
    s.add({ type: 'task.succeeded', ts: t0 + 500, queue_wait_ms: 10, run_ms: 100 }, 3); // replayed: ignored
    s.add({ type: 'task.failed', ts: t0 + 1500, queue_wait_ms: 30, run_ms: 300 }, 4);
    s.add({ type: 'worker.online', ts: t0 + 1600 }, 5);
    expect(s.totals).toMatchObject({ submitted: 2, succeeded: 1, failed: 1 });
    const one = s.series(t0 + 1999, 60, 60);
    expect(one.x).toHaveLength(60);
    expect(one.submitted.at(-2)).toBe(2);
    expect(one.succeeded.at(-2)).toBe(1);
    expect(one.failed.at(-1)).toBe(1);
    // 5 s buckets: the same counts spread over the bucket width.
    const five = s.series(t0 + 1999, 300, 60);
    expect(five.submitted.reduce((a, b) => a + b, 0) * 5).toBe(2);
    const p = s.percentiles(t0 + 2000, 60, [50, 95]);
    expect(p).toEqual({ count: 2, queueWait: [10, 30], run: [100, 300] });
  });

  it('forgets what is older than the window', () => {
    const s = new LiveStats();
    s.add({ type: 'task.succeeded', ts: t0, queue_wait_ms: 1, run_ms: 1 }, 1);
    s.prune(t0 + (WINDOW_S + 2) * 1000);
    expect(s.series(t0 + (WINDOW_S + 2) * 1000, WINDOW_S).succeeded.every((v) => v === 0)).toBe(true);
    expect(s.percentiles(t0 + (WINDOW_S + 2) * 1000, WINDOW_S, [50]).count).toBe(0);
  });

  it('percentile is nearest-rank and null without values', () => {
    expect(percentile([], 50)).toBeNull();
    expect(percentile([5, 1, 3, 2, 4], 50)).toBe(3);
    expect(percentile([5, 1, 3, 2, 4], 100)).toBe(5);
    expect(percentile([5, 1, 3, 2, 4], 0)).toBe(1);
  });
});

describe('parseRoute', () => {
  it.each([
    ['', 'overview', undefined],
    ['#/', 'overview', undefined],
    ['#/workers', 'workers', undefined],
    ['#/workers/w-1', 'worker', 'w-1'],
    ['#/queue?kind=llm', 'queue', undefined],
    ['#/settings', 'settings', undefined],
    ['#/tasks?status=failed', 'tasks', undefined],
    ['#/tasks/abc%2Fdef', 'task', 'abc/def'],
    ['#/nonsense', 'overview', undefined],
  ])('%s -> %s', (hash, page, id) => {
    const r = parseRoute(hash);
    expect(r.page).toBe(page);
    expect(r.id).toBe(id);
  });

  it('keeps the filter of the tasks page', () => {
    expect(parseRoute('#/tasks?status=failed&kind=echo').params.get('kind')).toBe('echo');
  });
});
