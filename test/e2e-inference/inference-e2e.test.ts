/**
 * Inference through the whole system: the master's KServe v2 REST API and the
 * Socket.IO chat path -> an `infer` / `ocr` task -> MQTT -> a worker running
 * the ONNX engine (off-thread, batched) -> gRPC -> back. Uses a MatMul+Add
 * model built by the test (outputs checked numerically) and the real PP-OCR
 * models reading text rendered by Chromium.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import { silentLogger } from '../../common/logger.js';
import type { InferOutput, OcrOutput } from '../../common/kinds/inference.js';
import type { ClientToServerEvents, ServerToClientEvents } from '../../common/socket-events.js';
import type { TaskView } from '../../common/task-view.js';
import { createInference } from '../../worker/inference/inference-handlers.js';
import { launchBrowser } from '../helpers/browser.js';
import { startCluster, waitFor, type TestCluster } from '../helpers/cluster.js';
import { linearModel, linearRef, tempRepo, type TempRepo } from '../inference/onnx-fixtures.js';
import { renderText } from '../inference/render-text.js';

const W = [
  [1, 2, 3],
  [0.5, -1, 0],
  [2, 0, 1],
  [-1, 1, 0.25],
];
const B = [0.1, -0.2, 0.3];
const LINES = ['Invoice 42 paid', 'taskwire reads images'];

describe('inference end to end through the master', () => {
  let c: TestCluster;
  let repo: TempRepo;
  let png = '';
  let url = '';

  beforeAll(async () => {
    const browser = await launchBrowser();
    try {
      png = await renderText(browser, LINES, 'png');
    } finally {
      await browser.close();
    }
    repo = await tempRepo();
    await repo.add('linear', '1', linearModel(W, B), { max_batch_size: 16, max_queue_delay_ms: 2 });
    c = await startCluster({ workers: 0 });
    const { handlers } = await createInference({ modelsDir: repo.dir }, silentLogger());
    await c.addWorker({ capacity: 16 }, { handlers });
    await c.waitForWorkers(1);
    url = c.httpUrl;
    await waitFor(() => c.master.registry.schedulable().some((w) => w.models.has('ocr\u0000ppocr') && w.models.has('infer\u0000linear')), 'models ready', 60_000, 50);
  }, 180_000);

  afterAll(async () => {
    await c?.close();
    await repo?.remove();
  });

  const post = (path: string, body: unknown) =>
    fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('KServe v2: health, model list and metadata come from the workers', async () => {
    expect((await fetch(`${url}/v2/health/live`)).status).toBe(200);
    expect((await fetch(`${url}/v2/health/ready`)).status).toBe(200);
    expect((await fetch(`${url}/v2/models/linear/ready`)).status).toBe(200);
    const meta = (await (await fetch(`${url}/v2/models/linear`)).json()) as { name: string; versions: string[]; inputs: { name: string; datatype: string; shape: number[] }[] };
    expect(meta.name).toBe('linear');
    expect(meta.versions).toContain('1');
    expect(meta.inputs[0]).toMatchObject({ name: 'X', datatype: 'FP32', shape: [-1, 4] });
  });

  it('KServe v2 infer: numerically right, also for concurrent requests (batched on the worker)', async () => {
    const rows = Array.from({ length: 24 }, (_, i) => [i, i / 2, -i, 1]);
    const answers = await Promise.all(
      rows.map(async (row) => {
        const res = await post('/v2/models/linear/infer', { inputs: [{ name: 'X', shape: [1, 4], datatype: 'FP32', data: row }] });
        expect(res.status).toBe(200);
        return (await res.json()) as InferOutput;
      }),
    );
    answers.forEach((a, i) => {
      expect(a.model_name).toBe('linear');
      const y = a.outputs.find((o) => o.name === 'Y')!;
      expect(y.shape).toEqual([1, 3]);
      const ref = linearRef([rows[i]!], W, B)[0]!;
      (y.data as number[]).forEach((v, j) => expect(v).toBeCloseTo(ref[j]!, 4));
    });
  });

  it('KServe v2 errors: unknown model 404, wrong shape / dtype 400 with what the model expects', async () => {
    const unknown = await post('/v2/models/nope/infer', { inputs: [{ name: 'X', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: string }).error).toMatch(/nope/);
    const shape = await post('/v2/models/linear/infer', { inputs: [{ name: 'X', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] });
    expect(shape.status).toBe(400);
    expect(((await shape.json()) as { error: string }).error).toMatch(/expects shape \[-1,4\]/);
    const dtype = await post('/v2/models/linear/infer', { inputs: [{ name: 'X', shape: [1, 4], datatype: 'INT64', data: [1, 2, 3, 4] }] });
    expect(dtype.status).toBe(400);
    expect(((await dtype.json()) as { error: string }).error).toMatch(/FP32/);
    // and the worker keeps serving
    expect((await post('/v2/models/linear/infer', { inputs: [{ name: 'X', shape: [1, 4], datatype: 'FP32', data: [1, 1, 1, 1] }] })).status).toBe(200);
  });

  it('reads the text of an image sent from the chat (Socket.IO, kind ocr)', async () => {
    const s = io(url, { transports: ['websocket'], reconnection: false }) as Socket<ServerToClientEvents, ClientToServerEvents>;
    try {
      await new Promise((r) => s.once('session', r));
      const done = new Promise<TaskView>((resolve) => s.on('task:done', resolve));
      const ack = await s.emitWithAck('task:submit', { kind: 'ocr', input: { image: `data:image/png;base64,${png}` } });
      expect(ack.ok).toBe(true);
      const t = await done;
      expect(t.status).toBe('succeeded');
      const out = t.result as unknown as OcrOutput;
      expect(out.lines.map((l) => l.text)).toEqual(LINES);
    } finally {
      s.disconnect();
    }
  });

  it('reads the same image through the KServe endpoint (model ppocr, BYTES input)', async () => {
    const res = await post('/v2/models/ppocr/infer', { inputs: [{ name: 'image', shape: [1], datatype: 'BYTES', data: [png] }] });
    const body = (await res.json()) as InferOutput & { error?: string };
    expect(res.status, body.error).toBe(200);
    const text = body.outputs.find((o) => o.name === 'text')!;
    expect(String(text.data[0])).toBe(LINES.join('\n'));
  });
});
