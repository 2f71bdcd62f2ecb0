/**
 * Provider, inference and GPU metrics of the TypeScript worker, on its own
 * port and summarised into the master's /metrics (WorkerStatus.metrics,
 * labelled by worker_id): a real master, an llm worker on a local fake
 * OpenAI-compatible provider (one call refused with a 429), an inference
 * worker with a small ONNX model, and a worker with a stand-in `nvidia-smi`
 * on its PATH (speaking nvidia-smi's CSV). Without nvidia-smi there are no GPU
 * gauges at all. Both outputs pass `promtool check metrics`.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTask, startCluster, waitFor, type TestCluster } from '../helpers/cluster.js';
import { startFakeOpenAiProvider, type FakeOpenAiProvider } from '../llm/fake-openai-provider.js';
import { linearModel, tempRepo, type TempRepo } from '../inference/onnx-fixtures.js';
import { createLlmHandler } from '../../worker/handlers/llm/create-llm-handler.js';
import { createInference } from '../../worker/inference/inference-handlers.js';
import { findOnPath, parseNvidiaSmi } from '../../worker/gpu-metrics.js';
import { silentLogger } from '../../common/logger.js';
import type { Worker } from '../../worker/worker.js';

const promtool = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).stdout.trim() || undefined;

function parse(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    values.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return values;
}

/** The value of the series of `name` whose labels include all of `labels` (summed over the rest). */
function value(values: Map<string, number>, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const [k, v] of values) {
    if (!k.startsWith(`${name}{`) && k !== name) continue;
    if (Object.entries(labels).every(([l, x]) => k.includes(`${l}="${x}"`))) sum += v;
  }
  return sum;
}

describe('worker provider / inference / GPU metrics and the master summary', () => {
  let c: TestCluster;
  let provider: FakeOpenAiProvider;
  let repo: TempRepo;
  let llmWorker: Worker;
  let inferWorker: Worker;
  let gpuWorker: Worker;
  let fakeBin: string;
  let workerText = '';
  let masterText = '';

  beforeAll(async () => {
    provider = await startFakeOpenAiProvider({
      fail: (_r, messages) => (messages.some((m) => m.content === 'refuse me') ? { status: 429, error: { message: 'slow down', type: 'rate_limit' } } : undefined),
    });
    fakeBin = mkdtempSync(join(tmpdir(), 'tw-fake-nvidia-'));
    // nvidia-smi --query-gpu=index,utilization.gpu,memory.used,memory.total --format=csv,noheader,nounits
    writeFileSync(join(fakeBin, 'nvidia-smi'), '#!/bin/sh\necho "0, 37, 1024, 16384"\necho "1, [N/A], 10, 20"\n');
    chmodSync(join(fakeBin, 'nvidia-smi'), 0o755);
    c = await startCluster({ workers: 0 });
    const llm = await createLlmHandler({ OPENAI_BASE_URL: provider.url, TASKWIRE_OLLAMA_URL: 'off' }, silentLogger());
    if (!llm) throw new Error('no model at the fake provider');
    const fast = { metricsSummary: true, statusIntervalMs: 200 };
    llmWorker = await c.addWorker({ kinds: ['llm'], metricsPort: 0, metricsHost: '127.0.0.1', ...fast }, { handlers: [llm], tracingEnv: { PATH: '/nonexistent' } });
    repo = await tempRepo();
    await repo.add('linear', '1', linearModel([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]], [0, 0, 0]), { max_batch_size: 8, max_queue_delay_ms: 1 });
    const { handlers } = await createInference({ modelsDir: repo.dir, ocr: false }, silentLogger());
    inferWorker = await c.addWorker({ kinds: ['infer'], ...fast }, { handlers, tracingEnv: { PATH: '/nonexistent' } });
    gpuWorker = await c.addWorker({ kinds: ['echo'], ...fast }, { tracingEnv: { PATH: fakeBin } });
    await c.waitForWorkers(3);
    await waitFor(() => c.master.registry.schedulable().some((w) => w.models.has('infer\u0000linear')), 'model linear ready', 60_000, 50);

    for (const q of ['one two three', 'four five']) expect((await runTask(c.httpUrl, { kind: 'llm', input: { messages: [{ role: 'user', content: q }] } }, 15_000)).status).toBe('succeeded');
    expect((await runTask(c.httpUrl, { kind: 'llm', max_attempts: 1, input: { messages: [{ role: 'user', content: 'refuse me' }] } }, 15_000)).status).toBe('failed');
    const statuses = await Promise.all(
      [0, 1, 2].map(async (i) => {
        const res = await fetch(`${c.httpUrl}/v2/models/linear/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ inputs: [{ name: 'X', shape: [1, 4], datatype: 'FP32', data: [i, 1, 2, 3] }] }),
        });
        await res.arrayBuffer();
        return res.status;
      }),
    );
    expect(statuses).toEqual([200, 200, 200]);
    workerText = await (await fetch(`http://127.0.0.1:${llmWorker.metricsPort}/metrics`)).text();
    // The summaries arrive with the next periodic status (every 200 ms here).
    masterText = await waitFor(
      async () => {
        const t = await (await fetch(`${c.httpUrl}/metrics`)).text();
        const v = parse(t);
        return value(v, 'taskwire_worker_provider_requests_total', { outcome: 'error', worker_id: llmWorker.id }) === 1 &&
          value(v, 'taskwire_worker_inference_requests_total', { worker_id: inferWorker.id }) === 3 &&
          value(v, 'taskwire_worker_gpu_utilization_ratio', { worker_id: gpuWorker.id }) > 0
          ? t
          : undefined;
      },
      'worker summaries on the master',
      15_000,
      100,
    );
  }, 120_000);

  afterAll(async () => {
    await c?.close();
    await provider?.close();
    await repo?.remove();
    if (fakeBin) rmSync(fakeBin, { recursive: true, force: true });
  });

  it('the llm worker counts provider calls, errors by code, latency, TTFT and tokens by provider and model', () => {
    const v = parse(workerText);
    const pm = { provider: 'openai', model: 'fake-model' };
    expect(value(v, 'taskwire_worker_provider_requests_total', { ...pm, outcome: 'ok' })).toBe(2);
    expect(value(v, 'taskwire_worker_provider_requests_total', { ...pm, outcome: 'error' })).toBe(1);
    expect(value(v, 'taskwire_worker_provider_errors_total', { provider: 'openai', code: 'PROVIDER_RATE_LIMIT' })).toBe(1);
    expect(value(v, 'taskwire_worker_provider_request_seconds_count', pm)).toBe(3);
    expect(value(v, 'taskwire_worker_provider_time_to_first_token_seconds_count', pm)).toBe(2);
    expect(value(v, 'taskwire_worker_llm_completion_tokens_total', pm)).toBeGreaterThanOrEqual(5);
    expect(value(v, 'taskwire_worker_llm_prompt_tokens_total', pm)).toBeGreaterThan(0);
    expect(value(v, 'taskwire_worker_model_ready', { kind: 'llm', model: 'fake-model', provider: 'openai' })).toBe(1);
  });

  it('has no GPU gauges where nvidia-smi is absent (this machine has no GPU), real ones from nvidia-smi where it exists', () => {
    expect([...parse(workerText).keys()].filter((k) => k.includes('_gpu_'))).toEqual([]);
    const v = parse(masterText);
    expect(value(v, 'taskwire_worker_gpu_utilization_ratio', { worker_id: gpuWorker.id, gpu: '0' })).toBeCloseTo(0.37);
    expect(value(v, 'taskwire_worker_gpu_memory_used_bytes', { worker_id: gpuWorker.id, gpu: '0' })).toBe(1024 * 1024 * 1024);
    expect(value(v, 'taskwire_worker_gpu_memory_total_bytes', { worker_id: gpuWorker.id, gpu: '0' })).toBe(16384 * 1024 * 1024);
    // "[N/A]" utilisation: that GPU is left out rather than shown as idle.
    expect([...v.keys()].filter((k) => k.includes('_gpu_') && k.includes('gpu="1"'))).toEqual([]);
    expect([...v.keys()].filter((k) => k.includes('_gpu_') && !k.includes(`worker_id="${gpuWorker.id}"`))).toEqual([]);
    expect(parseNvidiaSmi('0, 50, 1, 2\nnot a line\n')).toEqual([{ index: '0', utilization: 0.5, memoryUsedBytes: 1024 * 1024, memoryTotalBytes: 2 * 1024 * 1024 }]);
    if (!findOnPath('nvidia-smi')) console.log('worker-summary: no nvidia-smi on this machine: real GPU gauges not checked (stand-in only)');
  });

  it('the master exposes every worker summary labelled by worker_id, aggregatable (histograms with buckets)', () => {
    const v = parse(masterText);
    const llm = { worker_id: llmWorker.id, provider: 'openai', model: 'fake-model' };
    expect(value(v, 'taskwire_worker_provider_requests_total', { ...llm, outcome: 'ok' })).toBe(2);
    expect(value(v, 'taskwire_worker_provider_errors_total', { worker_id: llmWorker.id, code: 'PROVIDER_RATE_LIMIT' })).toBe(1);
    expect(value(v, 'taskwire_worker_provider_time_to_first_token_seconds_count', llm)).toBe(2);
    expect(value(v, 'taskwire_worker_provider_request_seconds_bucket', { ...llm, le: '+Inf' })).toBe(3);
    const inf = { worker_id: inferWorker.id, model: 'linear' };
    expect(value(v, 'taskwire_worker_inference_requests_total', { ...inf, outcome: 'ok' })).toBe(3);
    expect(value(v, 'taskwire_worker_inference_batch_rows_count', inf)).toBe(3);
    expect(value(v, 'taskwire_worker_inference_request_seconds_count', inf)).toBe(3);
    expect(value(v, 'taskwire_worker_inference_batch_rows_bucket', { ...inf, le: '+Inf' })).toBe(3);
    expect(value(v, 'taskwire_worker_model_ready', { worker_id: inferWorker.id, kind: 'infer', model: 'linear' })).toBe(1);
    expect(value(v, 'taskwire_worker_tasks_total', { worker_id: llmWorker.id, kind: 'llm', outcome: 'succeeded' })).toBe(2);
    expect(value(v, 'taskwire_worker_process_resident_memory_bytes', { worker_id: gpuWorker.id })).toBeGreaterThan(0);
    // One worker_id per series (the worker's own default label is not repeated).
    expect(masterText).not.toMatch(/worker_id="[^"]*".*worker_id=/);
  });

  it('drops a worker\'s series when it goes offline', async () => {
    await gpuWorker.close();
    await waitFor(async () => !(await (await fetch(`${c.httpUrl}/metrics`)).text()).includes(`worker_id="${gpuWorker.id}"`), "the offline worker's series to go", 10_000, 50);
  });

  it.skipIf(!promtool)('both outputs pass `promtool check metrics`', () => {
    for (const [what, text] of [['worker', workerText], ['master', masterText]] as const) {
      const r = spawnSync(promtool!, ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(r.stdout + r.stderr, `${what}: promtool check metrics findings`).toBe('');
    }
  });
});
