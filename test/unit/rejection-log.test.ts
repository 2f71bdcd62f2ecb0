import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { RejectionLog, safeField } from '../../master/core/rejection-log.js';
import { taskServiceRig } from '../helpers/task-service-rig.js';

function capture() {
  const lines: string[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  return { lines, logger: pino({ level: 'info' }, dest) as never };
}

describe('rejected results: counted always, logged sampled, untrusted strings truncated and escaped', () => {
  it('100k rejections produce a bounded number of log lines and exact counts', async () => {
    const { lines, logger } = capture();
    let now = 0;
    const log = new RejectionLog(logger, { now: () => now });
    for (let i = 0; i < 100_000; i++) {
      now += 1; // 100 s in all: ten windows of 10 s
      log.note('invalid result token', { task_id: `forged-${i}-${'x'.repeat(10_000)}`, attempt: 1, worker_id: 'evil\n{"level":60}' });
    }
    await new Promise((r) => setImmediate(r));
    expect(log.total).toBe(100_000);
    expect(log.byReason.get('invalid result token')).toBe(100_000);
    // 10 lines per window + one summary per window boundary.
    expect(lines.length).toBeLessThanOrEqual(10 * 11 + 11);
    expect(lines.length).toBeGreaterThan(10);
    const bytes = lines.reduce((n, l) => n + l.length, 0);
    expect(bytes).toBeLessThan(100_000); // today: 34 MB
    for (const l of lines) {
      const rec = JSON.parse(l) as { task_id?: string; worker_id?: string };
      if (rec.task_id) expect(rec.task_id.length).toBeLessThan(100);
      if (rec.worker_id) expect(rec.worker_id).toBe('evil\\x0a{"level":60}');
    }
    expect(lines.some((l) => /more results rejected/.test(l))).toBe(true);
  });

  it('safeField escapes control and non-ASCII characters and cuts long strings', () => {
    expect(safeField('ok-1', 10)).toBe('ok-1');
    expect(safeField('a\u001b[31mb', 10)).toBe('a\\x1b[31mb');
    expect(safeField('é☃', 10)).toBe('\\xe9\\u{2603}');
    expect(safeField('back\\slash', 20)).toBe('back\\\\slash');
    expect(safeField('abcdefghij', 4)).toBe('abcd…(10 chars)');
  });

  it('through the intake: forged events are all counted on the service', () => {
    const r = taskServiceRig();
    for (let i = 0; i < 1000; i++) {
      r.intake.handleEvent({ task_id: `t${i}`, attempt: 1, worker_id: 'w', result_token: 'nope', seq: 1, event: 'heartbeat' } as never);
    }
    expect(r.svc.counters.rejectedResults).toBe(1000);
    expect(r.svc.rejections.total).toBe(1000);
  });
});
