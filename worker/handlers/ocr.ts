/**
 * The `ocr` task kind: `{image: <base64 PNG/JPEG or data URL>}` ->
 * `{text, lines: [{text, confidence, box}]}` with PP-OCR, run by the worker's
 * inference engine (off the main thread, recognition batched).
 */
import { ocrInput } from '../../common/kinds/inference.js';
import type { JsonValue } from '../../common/json-value.js';
import type { ModelInfo } from '../../common/wire.js';
import type { InferenceEngine } from '../inference/inference-engine.js';
import type { OcrService } from '../inference/ocr/ocr-service.js';
import { parseTaskInput, type ModelLoad, type TaskContext, type TaskHandler, type TaskOutput } from './task-handler.js';

export interface OcrHandlerDeps {
  engine: InferenceEngine;
  ocr: OcrService;
  release(): Promise<void>;
}


export class OcrHandler implements TaskHandler {
  readonly kind = 'ocr';
  private readonly deps: OcrHandlerDeps;

  constructor(deps: OcrHandlerDeps) {
    this.deps = deps;
  }

  async start(): Promise<boolean> {
    await this.deps.ocr.start();
    return true;
  }

  models(): ModelInfo[] {
    return [this.deps.ocr.modelInfo()];
  }

  /** The shared engine's loads since the last call (infer or ocr takes them: each once). */
  modelLoads(): ModelLoad[] {
    return this.deps.engine.takeLoads();
  }

  onChange(listener: () => void): void {
    this.deps.engine.onChange(listener);
  }

  async run(ctx: TaskContext): Promise<TaskOutput> {
    const { image } = parseTaskInput(ocrInput, ctx.input);
    const result = await this.deps.ocr.read(image, ctx.signal);
    ctx.log.debug({ lines: result.lines.length }, 'ocr done');
    return { output: result as unknown as JsonValue };
  }

  close(): Promise<void> {
    return this.deps.release();
  }
}
