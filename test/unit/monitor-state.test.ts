/** taskwire monitor's pure parts: folding events into counts, throughput, p95 and failures; the frame. */
import { describe, expect, it } from 'vitest';
import { MonitorState } from '../../cli/monitor-state.js';
import { renderMonitor, sparkline } from '../../cli/monitor-view.js';

describe('MonitorState', () => {
  it('counts finals, throughput per second, p95 run time and the newest failures', () => {
    const s = new MonitorState();
    const t0 = 1_700_000_000_000;
    for (let i = 0; i < 100; i++) s.apply({ type: 'task.succeeded', ts: t0 + i * 100, run_ms: i + 1 }, i + 1);
    for (let i = 0; i < 7; i++) s.apply({ type: 'task.failed', ts: t0 + 10_000, task_id: `f${i}`, kind: 'echo', error: { code: 'BAD_INPUT', message: 'no' } });
    s.apply({ type: 'task.cancelled', ts: t0 + 10_000, task_id: 'c' });
    expect(s.succeeded).toBe(100);
    expect(s.failed).toBe(8);
    expect(s.lastEventId).toBe(100);
    expect(s.failures.map((f) => f.taskId)).toEqual(['f6', 'f5', 'f4', 'f3', 'f2']);
    const tput = s.throughput(t0 + 11_000, 11);
    expect(tput.slice(0, 10)).toEqual(new Array(10).fill(10));
    expect(tput[10]).toBe(8);
    expect(s.p95RunMs()).toBe(95);
  });

  it('renders a frame cut to the terminal', () => {
    const s = new MonitorState();
    s.setCluster({ queued: 3, running: 1, capacity: 4, workers: { online: 1, busy: 1, draining: 0, offline: 0 } });
    s.workers = [{ id: 'w-1', state: 'online', running: 1, capacity: 4, kinds: ['echo'] }];
    const lines = renderMonitor(s, { url: 'http://x', width: 40, height: 30, nowMs: Date.now(), color: false });
    expect(lines.every((l) => l.replace(/\x1b\[0m$/, '').length <= 40)).toBe(true);
    expect(renderMonitor(s, { url: 'http://x', width: 200, height: 30, nowMs: Date.now(), color: false }).join('\n')).toContain('queue 3');
    expect(sparkline([0, 1, 2, 4])).toBe(' ▂▄█');
  });
});
