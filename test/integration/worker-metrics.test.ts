/**
 * A worker's own /metrics on a port of its own (TASKWIRE_METRICS_PORT):
 * process CPU, memory and event-loop lag, attempts by kind and outcome,
 * failures by code, handler time, running and capacity; real tasks through a
 * real master; off unless asked for; the output passes `promtool check metrics`.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTask, startCluster, type TestCluster } from '../helpers/cluster.js';
import { TaskFailure, type TaskHandler } from '../../worker/handlers/task-handler.js';
import { workerOptionsFromEnv } from '../../worker/config.js';
import type { Worker } from '../../worker/worker.js';

const failing: TaskHandler = {
  kind: 'llm',
  run: async () => {
    throw new TaskFailure('PROVIDER_AUTH', 'no key (test)');
  },
};

async function scrape(port: number): Promise<{ text: string; values: Map<string, number> }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    values.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return { text, values };
}

describe('worker metrics port', () => {
  let c: TestCluster;
  let w: Worker;
  let plain: Worker;
  beforeAll(async () => {
    c = await startCluster({ workers: 0 });
    w = await c.addWorker({ capacity: 2, metricsPort: 0, metricsHost: '127.0.0.1', kinds: ['echo', 'llm'] }, { handlers: [failing] });
    plain = await c.addWorker({ capacity: 1, kinds: ['sleep'] });
    await c.waitForWorkers(2);
  }, 30_000);
  afterAll(async () => {
    await c?.close();
  });

  it('reads TASKWIRE_METRICS_PORT and TASKWIRE_METRICS_HOST', async () => {
    const o = await workerOptionsFromEnv({ TASKWIRE_METRICS_PORT: '9464', TASKWIRE_METRICS_HOST: '127.0.0.1' });
    expect(o.metricsPort).toBe(9464);
    expect(o.metricsHost).toBe('127.0.0.1');
    expect((await workerOptionsFromEnv({})).metricsPort).toBeUndefined();
  });

  it('is off unless asked for', () => {
    expect(plain.metricsPort).toBeUndefined();
    expect(plain.metrics).toBeUndefined();
  });

  it('counts attempts by kind and outcome, failures by code, handler time; process metrics; promtool-clean', async () => {
    const port = w.metricsPort!;
    expect(port).toBeGreaterThan(0);
    const id = `worker_id="${w.id}"`;
    const before = (await scrape(port)).values;
    for (let i = 0; i < 3; i++) expect((await runTask(c.httpUrl, { kind: 'echo', input: { text: `x${i}` } })).status).toBe('succeeded');
    expect((await runTask(c.httpUrl, { kind: 'llm', input: { messages: [{ role: 'user', content: 'hi' }] } })).status).toBe('failed');
    const { text, values } = await scrape(port);
    const d = (k: string) => (values.get(k) ?? 0) - (before.get(k) ?? 0);
    expect(d(`taskwire_worker_tasks_total{kind="echo",outcome="succeeded",${id}}`)).toBe(3);
    expect(d(`taskwire_worker_tasks_total{kind="llm",outcome="failed",${id}}`)).toBe(1);
    expect(d(`taskwire_worker_task_failures_total{kind="llm",code="PROVIDER_AUTH",${id}}`)).toBe(1);
    expect(d(`taskwire_worker_handler_seconds_count{${id},kind="echo",outcome="succeeded"}`)).toBe(3);
    expect(values.get(`taskwire_worker_capacity{${id}}`)).toBe(2);
    expect(values.get(`taskwire_worker_tasks_running{${id}}`)).toBe(0);
    expect(values.get(`taskwire_worker_process_cpu_seconds_total{${id}}`)).toBeGreaterThan(0);
    expect(values.get(`taskwire_worker_process_resident_memory_bytes{${id}}`)).toBeGreaterThan(0);
    expect(values.has(`taskwire_worker_nodejs_eventloop_lag_p99_seconds{${id}}`)).toBe(true);
    expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
    const promtool = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).stdout.trim();
    if (promtool) {
      const r = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(r.stdout + r.stderr, 'promtool check metrics findings').toBe('');
    }
  });
});
