/**
 * The KServe v2 REST router over real HTTP: with a fake backend (routes,
 * status codes, error bodies) and with a backend on the real `infer` handler
 * (a MatMul+Add model checked numerically, and PP-OCR reading rendered text).
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { silentLogger } from '../../common/logger.js';
import type { InferOutput, KserveInferRequest, KserveModelMetadata } from '../../common/kinds/inference.js';
import { createKserveApi, type KserveBackend, type KserveModel } from '../../master/http/kserve-api.js';
import { TaskFailure, type TaskHandler } from '../../worker/handlers/task-handler.js';
import { createInference } from '../../worker/inference/inference-handlers.js';
import { launchBrowser } from '../helpers/browser.js';
import { linearModel, tempRepo, type TempRepo } from './onnx-fixtures.js';
import { renderText } from './render-text.js';
import { taskContext } from './task-context.js';

async function serve(backend: KserveBackend, maxBodyBytes?: number): Promise<{ url: string; close(): Promise<void> }> {
  const app = express();
  app.use(createKserveApi(backend, maxBodyBytes ? { maxBodyBytes } : {}));
  const server: Server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function call(url: string, path: string, body?: unknown, raw?: string): Promise<{ status: number; body: any }> {
  const init: RequestInit =
    body === undefined && raw === undefined
      ? {}
      : { method: 'POST', headers: { 'content-type': 'application/json' }, body: raw ?? JSON.stringify(body) };
  const res = await fetch(`${url}${path}`, init);
  return { status: res.status, body: await res.json() };
}

const tensor = (data: number[][]) => ({ name: 'X', datatype: 'FP32', shape: [data.length, data[0]!.length], data });

describe('KServe v2 API with a fake backend', () => {
  const calls: { name: string; version: string | undefined; request: KserveInferRequest }[] = [];
  let ready = true;
  let failWith: Error | undefined;
  const models: KserveModel[] = [
    { name: 'linear', versions: ['1', '2'], ready: true, inputs: [{ name: 'X', datatype: 'FP32', shape: [-1, 4] }], outputs: [] },
    { name: 'cold', versions: ['1'], ready: false },
  ];
  const backend: KserveBackend = {
    ready: () => ready,
    models: () => models,
    async infer(name, version, request) {
      calls.push({ name, version, request });
      if (failWith) throw failWith;
      return { model_name: name, model_version: version ?? '2', outputs: [{ name: 'Y', datatype: 'FP32', shape: [1], data: [42] }] };
    },
  };
  let server: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    server = await serve(backend, 4096);
  });
  afterAll(async () => {
    await server?.close();
  });

  test('health, server and model metadata, readiness', async () => {
    expect(await call(server.url, '/v2/health/live')).toEqual({ status: 200, body: { live: true } });
    expect(await call(server.url, '/v2/health/ready')).toEqual({ status: 200, body: { ready: true } });
    expect((await call(server.url, '/v2')).body).toMatchObject({ name: 'taskwire', extensions: [] });
    expect(await call(server.url, '/v2/models/linear')).toEqual({
      status: 200,
      body: { name: 'linear', versions: ['1', '2'], platform: 'onnxruntime_onnx', inputs: [{ name: 'X', datatype: 'FP32', shape: [-1, 4] }], outputs: [] },
    });
    expect((await call(server.url, '/v2/models/linear/versions/1')).body.versions).toEqual(['1']);
    expect(await call(server.url, '/v2/models/linear/ready')).toEqual({ status: 200, body: { name: 'linear', ready: true } });
    expect(await call(server.url, '/v2/models/linear/versions/2/ready')).toEqual({ status: 200, body: { name: 'linear', version: '2', ready: true } });
    expect(await call(server.url, '/v2/models/cold/ready')).toEqual({ status: 503, body: { name: 'cold', ready: false } });
    ready = false;
    expect(await call(server.url, '/v2/health/ready')).toEqual({ status: 503, body: { ready: false } });
    ready = true;
  });

  test('unknown models and versions are 404 with {"error": ...}', async () => {
    expect(await call(server.url, '/v2/models/nope')).toEqual({ status: 404, body: { error: 'unknown model "nope"' } });
    expect(await call(server.url, '/v2/models/linear/versions/9')).toEqual({
      status: 404,
      body: { error: 'model "linear" has no version 9 (has 1, 2)' },
    });
    expect((await call(server.url, '/v2/models/nope/infer', { inputs: [tensor([[1, 2, 3, 4]])] })).status).toBe(404);
    expect((await call(server.url, '/v2/models/linear/versions/x1/ready')).status).toBe(400);
  });

  test('infer passes the validated request and returns the output', async () => {
    calls.length = 0;
    const r = await call(server.url, '/v2/models/linear/versions/1/infer', { id: 'r1', inputs: [tensor([[1, 2, 3, 4]])] });
    expect(r).toEqual({ status: 200, body: { model_name: 'linear', model_version: '1', outputs: [{ name: 'Y', datatype: 'FP32', shape: [1], data: [42] }] } });
    expect(calls).toEqual([{ name: 'linear', version: '1', request: { id: 'r1', inputs: [{ ...tensor([[1, 2, 3, 4]]), data: [1, 2, 3, 4] }] } }]);
  });

  test('bad bodies are 400/413 and never reach the backend', async () => {
    calls.length = 0;
    const bad = async (body: unknown, raw?: string) => call(server.url, '/v2/models/linear/infer', body, raw);
    expect(await bad(undefined, '{"inputs": [')).toMatchObject({ status: 400, body: { error: expect.stringMatching(/not valid JSON/) } });
    expect(await bad({ inputs: [{ ...tensor([[1, 2, 3, 4]]), shape: [2, 4] }] })).toMatchObject({
      status: 400,
      body: { error: expect.stringContaining('needs 8 elements, data has 4') },
    });
    expect(await bad({ inputs: [{ ...tensor([[1, 2]]), datatype: 'FP128' }] })).toMatchObject({ status: 400 });
    expect(await bad({ inputs: [{ ...tensor([[1, 2]]), datatype: 'INT32', data: [[1.5, 2]] }] })).toMatchObject({
      status: 400,
      body: { error: expect.stringContaining('not a valid INT32 value') },
    });
    expect(await bad({ inputs: [] })).toMatchObject({ status: 400 });
    expect(await bad({ inputs: [tensor(Array.from({ length: 2000 }, () => [1, 2, 3, 4]))] })).toMatchObject({ status: 413 });
    expect(await call(server.url, '/v2/models/cold/infer', { inputs: [tensor([[1, 2, 3, 4]])] })).toMatchObject({ status: 503 });
    expect(calls).toEqual([]);
  });

  test('backend failures map to HTTP statuses by code', async () => {
    const cases: [Error, number, string][] = [
      [new TaskFailure('BAD_INPUT', 'input X: model linear expects FP32, got INT32'), 400, 'input X: model linear expects FP32, got INT32'],
      [new TaskFailure('MODEL_NOT_FOUND', 'unknown model linear'), 404, 'unknown model linear'],
      [new TaskFailure('DEADLINE_EXCEEDED', 'deadline passed'), 504, 'deadline passed'],
      [Object.assign(new Error('no worker has linear'), { code: 'UNAVAILABLE' }), 503, 'no worker has linear'],
      [new Error('secret internals'), 500, 'internal error'],
    ];
    for (const [err, status, message] of cases) {
      failWith = err;
      expect(await call(server.url, '/v2/models/linear/infer', { inputs: [tensor([[1, 2, 3, 4]])] })).toEqual({ status, body: { error: message } });
    }
    failWith = undefined;
  });
});

/** What the master does, minus MQTT: one `infer` task per request, run by the worker's handler. */
function handlerBackend(infer: TaskHandler): KserveBackend {
  return {
    ready: () => true,
    models: () => infer.models!().map((m) => ({ name: m.name ?? '', versions: m.versions ?? [], ready: Boolean(m.ready) })),
    // tensor metadata is not in ModelInfo: ask a worker with a metadata-only infer task
    async metadata(name, version) {
      const input = { model_name: name, ...(version ? { model_version: version } : {}), inputs: [], parameters: { metadata: true } };
      return (await infer.run(taskContext('infer', input))).output as unknown as KserveModelMetadata;
    },
    async infer(name, version, request, signal) {
      const input = { ...request, model_name: name, ...(version ? { model_version: version } : {}) };
      const { output } = await infer.run(taskContext('infer', input as never, signal));
      return output as unknown as InferOutput;
    },
  };
}

describe('KServe v2 API over the infer handler', () => {
  let repo: TempRepo;
  let handlers: TaskHandler[] = [];
  let server: Awaited<ReturnType<typeof serve>>;
  let png = '';

  beforeAll(async () => {
    const browser = await launchBrowser();
    try {
      png = await renderText(browser, ['KServe reads 42'], 'png');
    } finally {
      await browser.close();
    }
    repo = await tempRepo();
    await repo.add('linear', '1', linearModel([[1], [2], [3], [4]], [0.5]), { max_batch_size: 4, max_queue_delay_ms: 1 });
    const created = await createInference({ modelsDir: repo.dir }, silentLogger());
    handlers = created.handlers;
    for (const h of handlers) await h.start?.();
    server = await serve(handlerBackend(handlers.find((h) => h.kind === 'infer')!));
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    for (const h of handlers) await h.close?.();
    await repo?.remove();
  });

  test('metadata comes from the model; infer computes X·W + b', async () => {
    expect((await call(server.url, '/v2/models/linear')).body).toMatchObject({
      inputs: [{ name: 'X', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'Y', datatype: 'FP32', shape: [-1, 1] }],
    });
    const r = await call(server.url, '/v2/models/linear/infer', { inputs: [tensor([[1, 1, 1, 1], [0, 0, 0, 2]])], outputs: [{ name: 'Y' }] });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ model_name: 'linear', model_version: '1', outputs: [{ name: 'Y', datatype: 'FP32', shape: [2, 1], data: [10.5, 8.5] }] });
  });

  test('the model says what it expects when a request does not fit', async () => {
    const wrongShape = await call(server.url, '/v2/models/linear/infer', { inputs: [tensor([[1, 2, 3]])] });
    expect(wrongShape).toEqual({ status: 400, body: { error: 'input X: model linear expects shape [-1,4] (-1 = any), got [1,3]' } });
    const wrongType = await call(server.url, '/v2/models/linear/infer', { inputs: [{ ...tensor([[1, 2, 3, 4]]), datatype: 'INT64' }] });
    expect(wrongType).toEqual({ status: 400, body: { error: 'input X: model linear expects FP32, got INT64' } });
    const oversized = await call(server.url, '/v2/models/linear/infer', { inputs: [tensor(Array.from({ length: 5 }, () => [1, 2, 3, 4]))] });
    expect(oversized).toEqual({ status: 400, body: { error: 'input X: batch of 5 is over the max_batch_size 4 of model linear' } });
    const wrongName = await call(server.url, '/v2/models/linear/infer', { inputs: [{ ...tensor([[1, 2, 3, 4]]), name: 'x' }] });
    expect(wrongName).toEqual({ status: 400, body: { error: 'unknown input x; missing input X: model linear expects inputs X (FP32 [-1,4])' } });
    const ok = await call(server.url, '/v2/models/linear/infer', { inputs: [tensor([[0, 0, 0, 0]])] });
    expect(ok.body.outputs[0].data).toEqual([0.5]);
  });

  test('PP-OCR reads rendered text through the KServe endpoint', async () => {
    expect((await call(server.url, '/v2/models/ppocr')).body).toMatchObject({ inputs: [{ name: 'image', datatype: 'BYTES', shape: [1] }] });
    const r = await call(server.url, '/v2/models/ppocr/infer', { inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], data: [png] }] });
    expect(r.status).toBe(200);
    expect(r.body.outputs[0]).toEqual({ name: 'text', datatype: 'BYTES', shape: [1], data: ['KServe reads 42'] });
    const line = JSON.parse(r.body.outputs[1].data[0]);
    expect(line).toMatchObject({ text: 'KServe reads 42', box: expect.any(Array) });
  });
});
