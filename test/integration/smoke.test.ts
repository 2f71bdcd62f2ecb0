import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTask, startCluster, type TestCluster } from '../helpers/cluster.js';

describe('smoke: REST -> MQTT -> worker -> gRPC -> REST', () => {
  let c: TestCluster;
  beforeAll(async () => {
    c = await startCluster({ workers: 2 });
  });
  afterAll(async () => {
    await c?.close();
  });

  it('runs an echo task', async () => {
    const t = await runTask(c.httpUrl, { kind: 'echo', input: { text: 'hello taskwire world' } });
    expect(t.status).toBe('succeeded');
    expect(t.result).toEqual({ text: 'hello taskwire world' });
    expect(t.worker_language).toBe('typescript');
    expect(c.workers.map((w) => w.id)).toContain(t.worker_id);
    expect(t.attempt).toBe(1);
  });
});
