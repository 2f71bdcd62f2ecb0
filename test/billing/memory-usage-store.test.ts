/**
 * The in-memory usage store (no data dir): one row per task + attempt, the
 * newest `maxRows` kept, the oldest dropped first.
 */
import { describe, expect, it } from 'vitest';
import { MemoryUsageStore } from '../../master/billing/usage-store.js';
import type { UsageRow } from '../../master/billing/usage-row.js';

const row = (task: string, attempt: number, at: number): UsageRow => ({
  task_id: task,
  attempt,
  tenant: 'default',
  key: 'local',
  kind: 'echo',
  model: null,
  worker_id: 'w',
  outcome: 'succeeded',
  tokens_in: 0,
  tokens_out: 0,
  processing_ms: 1,
  cpu_us: 0,
  mem_mib_ms: 0,
  images: 0,
  megapixels: 0,
  bytes_in: 1,
  bytes_out: 1,
  at_ms: at,
  cost: 0,
  price_version: 0,
});

describe('MemoryUsageStore', () => {
  it('keeps one row per task and attempt, the newest maxRows, dropping the oldest first', () => {
    const store = new MemoryUsageStore(1000);
    const written: string[] = [];
    for (let i = 0; i < 5000; i++) store.insert(row(`t${i}`, 1, i), (r) => written.push(r.task_id));
    store.insert(row('t4999', 1, 9999), (r) => written.push(`again ${r.task_id}`)); // the key decides: not written again
    store.insert(row('t4999', 2, 5000), (r) => written.push(`${r.task_id}/2`));
    expect(written).toHaveLength(5001);
    expect(written.at(-1)).toBe('t4999/2');
    const kept = store.rows({ fromMs: 0, toMs: 1e9 });
    expect(kept).toHaveLength(1000);
    expect(kept[0]!.task_id).toBe('t4001'); // 4,000 oldest dropped (and one for the retry's row), in order
    expect(kept.at(-1)!.attempt).toBe(2);
    expect(kept.find((r) => r.task_id === 't4999' && r.attempt === 1)!.at_ms).toBe(4999); // the first row stays
  });
});
