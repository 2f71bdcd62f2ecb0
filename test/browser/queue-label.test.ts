import { describe, expect, it } from 'vitest';
import { queueLabel } from '../../web/src/format.js';
import { taskInfo } from '../../web/src/server-events.js';

describe('the chat queue label', () => {
  it('shows the position from 1 and the ETA in seconds', () => {
    expect(queueLabel(11, 8200)).toBe('Queued – position 12, about 8 s');
    expect(queueLabel(0, 300)).toBe('Queued – position 1, starting soon');
    expect(queueLabel(3, null)).toBe('Queued – position 4');
  });

  it('keeps queue_position and eta_ms of a task update', () => {
    const t = taskInfo.parse({
      id: 't', kind: 'sleep', status: 'queued', attempt: 0, worker_id: null, worker_language: null, error: null,
      timings: { queue_wait_ms: null, processing_ms: null, total_ms: null }, queue_position: 2, eta_ms: 1500,
    });
    expect([t.queue_position, t.eta_ms]).toEqual([2, 1500]);
  });
});
