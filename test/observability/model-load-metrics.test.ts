/**
 * The inference worker's model-load metrics: a real worker with the infer
 * handler on a temp model repository holding a good ONNX model and a file
 * that is not one. The worker's own /metrics counts one ok load of the good
 * model (with its load time in the histogram) and one failed load of the
 * broken one; a reload of the good model counts again; the summary carries
 * the same to the master's /metrics by worker_id; `promtool check metrics`
 * finds nothing.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, waitFor, type TestCluster } from '../helpers/cluster.js';
import { linearModel, tempRepo, type TempRepo } from '../inference/onnx-fixtures.js';
import { createInference } from '../../worker/inference/inference-handlers.js';
import type { InferenceEngine } from '../../worker/inference/inference-engine.js';
import type { Worker } from '../../worker/worker.js';
import { silentLogger } from '../../common/logger.js';

const promtool = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).stdout.trim() || undefined;

function series(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const i = line.lastIndexOf(' ');
    if (Object.entries(labels).every(([k, v]) => line.slice(0, i).includes(`${k}="${v}"`))) sum += Number(line.slice(i + 1));
  }
  return sum;
}

describe('model load metrics of the inference worker', () => {
  let c: TestCluster;
  let repo: TempRepo;
  let worker: Worker;
  let engine: InferenceEngine;
  const own = async () => (await fetch(`http://127.0.0.1:${worker.metricsPort}/metrics`)).text();

  beforeAll(async () => {
    c = await startCluster({ workers: 0 });
    repo = await tempRepo();
    await repo.add('linear', '1', linearModel([[1, 0], [0, 1]], [0, 0]));
    await repo.add('broken', '1', 'this is not an onnx model');
    const inference = await createInference({ modelsDir: repo.dir, ocr: false }, silentLogger());
    engine = inference.engine;
    worker = await c.addWorker({ kinds: ['infer'], metricsPort: 0, metricsHost: '127.0.0.1', metricsSummary: true, statusIntervalMs: 200 }, { handlers: inference.handlers });
    await c.waitForWorkers(1, 30_000);
  }, 60_000);

  afterAll(async () => {
    await c?.close();
    await repo?.remove();
  });

  it('counts the repository\'s loads, ok and failed, with the load time of the good one', async () => {
    const text = await waitFor(
      async () => {
        const t = await own();
        return series(t, 'taskwire_worker_model_loads_total', { model: 'broken', outcome: 'error' }) === 1 ? t : undefined;
      },
      'the failed load counted',
      20_000,
      100,
    );
    const w = { worker_id: worker.id };
    expect(series(text, 'taskwire_worker_model_loads_total', { ...w, model: 'linear', outcome: 'ok' })).toBe(1);
    expect(series(text, 'taskwire_worker_model_loads_total', { ...w, model: 'linear', outcome: 'error' })).toBe(0);
    expect(series(text, 'taskwire_worker_model_load_seconds_count', { ...w, model: 'linear' })).toBe(1);
    expect(series(text, 'taskwire_worker_model_load_seconds_sum', { ...w, model: 'linear' })).toBeGreaterThan(0);
    expect(series(text, 'taskwire_worker_model_load_seconds_bucket', { ...w, model: 'linear', le: '+Inf' })).toBe(1);
    // A failed load has no time in the histogram (it counts in loads_total only).
    expect(text).not.toContain('taskwire_worker_model_load_seconds_count{worker_id="' + worker.id + '",model="broken"');
    expect(series(text, 'taskwire_worker_model_ready', { ...w, model: 'broken' })).toBe(0);
    if (promtool) {
      const r = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(r.stdout + r.stderr).toBe('');
    }
  });

  it('counts a reload, and the master shows the same by worker_id', async () => {
    await engine.load('linear');
    const text = await waitFor(
      async () => {
        const t = await own();
        return series(t, 'taskwire_worker_model_loads_total', { model: 'linear', outcome: 'ok' }) === 2 ? t : undefined;
      },
      'the reload counted',
      20_000,
      100,
    );
    expect(series(text, 'taskwire_worker_model_load_seconds_count', { model: 'linear' })).toBe(2);
    const master = await waitFor(
      async () => {
        const t = await (await fetch(`${c.httpUrl}/metrics`)).text();
        return series(t, 'taskwire_worker_model_loads_total', { worker_id: worker.id, model: 'linear', outcome: 'ok' }) === 2 ? t : undefined;
      },
      'the summary on the master',
      20_000,
      100,
    );
    expect(series(master, 'taskwire_worker_model_loads_total', { worker_id: worker.id, model: 'broken', outcome: 'error' })).toBe(1);
    expect(series(master, 'taskwire_worker_model_load_seconds_count', { worker_id: worker.id, model: 'linear' })).toBe(2);
  });
});
