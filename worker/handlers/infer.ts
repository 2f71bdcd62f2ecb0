/**
 * The `infer` task kind: KServe v2 tensors in, tensors out, against a model
 * of the worker's inference engine. The model name `ppocr` is the OCR
 * pipeline (when OCR is enabled): one BYTES input holding a base64 PNG/JPEG,
 * outputs `text` (BYTES [1]) and `lines` (BYTES [n], one JSON line each), so
 * KServe clients can read text too.
 */
import {
  inferInput,
  OCR_MODEL_NAME,
  type InferInput,
  type InferOutput,
  type KserveModelMetadata,
  type KserveOutputTensor,
} from '../../common/kinds/inference.js';
import type { JsonValue } from '../../common/json-value.js';
import type { ModelInfo } from '../../common/wire.js';
import type { InferenceEngine } from '../inference/inference-engine.js';
import type { OcrService } from '../inference/ocr/ocr-service.js';
import { fromKserve, toKserve, type WireFeeds } from '../inference/wire-tensor.js';
import { parseTaskInput, TaskFailure, type ModelLoad, type TaskContext, type TaskHandler, type TaskOutput } from './task-handler.js';

export interface InferHandlerDeps {
  engine: InferenceEngine;
  /** Loads the repository (engine.start()); shared engines start once. */
  start(): Promise<void>;
  /** The OCR pipeline, served as model `ppocr` when present. */
  ocr?: OcrService;
  /** Drops this handler's hold on the shared engine (the last one closes it). */
  release(): Promise<void>;
}


export class InferHandler implements TaskHandler {
  readonly kind = 'infer';
  private readonly deps: InferHandlerDeps;

  constructor(deps: InferHandlerDeps) {
    this.deps = deps;
  }

  async start(): Promise<boolean> {
    await this.deps.start();
    return true;
  }

  models(): ModelInfo[] {
    const list: ModelInfo[] = this.deps.engine.list().map((m) => ({
      kind: this.kind,
      name: m.name,
      versions: m.readyVersions.length > 0 ? m.readyVersions : m.versions,
      ready: m.readyVersions.length > 0,
      execution_provider: m.executionProvider,
    }));
    const ocr = this.deps.ocr;
    if (ocr) list.push({ ...ocr.modelInfo(), kind: this.kind });
    return list;
  }

  /** The shared engine's loads since the last call (infer or ocr takes them: each once). */
  modelLoads(): ModelLoad[] {
    return this.deps.engine.takeLoads();
  }

  onChange(listener: () => void): void {
    this.deps.engine.onChange(listener);
  }

  async run(ctx: TaskContext): Promise<TaskOutput> {
    const req = parseTaskInput(inferInput, ctx.input);
    if (req.parameters?.['metadata'] === true) return { output: this.metadata(req) as unknown as JsonValue };
    if (req.model_name === OCR_MODEL_NAME && this.deps.ocr) return this.runOcr(req, ctx);
    const feeds: WireFeeds = {};
    for (const t of req.inputs) feeds[t.name] = fromKserve(t);
    let r: Awaited<ReturnType<InferenceEngine['infer']>>;
    try {
      r = await this.deps.engine.infer(req.model_name, req.model_version, feeds, ctx.signal);
    } catch (err) {
      // Only names the worker serves become labels.
      const known = this.models().some((m) => m.name === req.model_name);
      ctx.telemetry?.inference({ model: known ? req.model_name : 'OTHER', ok: false });
      throw err;
    }
    ctx.telemetry?.inference({ model: r.modelName, ok: true, queueMs: r.queueMs, computeMs: r.computeMs, batchRows: r.batchRows });
    let names = Object.keys(r.outputs);
    if (req.outputs && req.outputs.length > 0) {
      const unknown = req.outputs.filter((o) => !(o.name in r.outputs)).map((o) => o.name);
      if (unknown.length > 0) {
        throw new TaskFailure('BAD_INPUT', `unknown output ${unknown.join(', ')}: model ${req.model_name} has outputs ${names.join(', ')}`);
      }
      names = req.outputs.map((o) => o.name);
    }
    const output: InferOutput = {
      model_name: r.modelName,
      model_version: r.modelVersion,
      ...(req.id !== undefined ? { id: req.id } : {}),
      outputs: names.map((n) => toKserve(n, r.outputs[n]!)),
    };
    ctx.log.debug({ model: r.modelName, batch: r.batchRows, queue_ms: r.queueMs, compute_ms: r.computeMs }, 'inference done');
    return { output: output as unknown as JsonValue };
  }

  /** KServe v2 metadata of a model (from its session), or of the `ppocr` pipeline. */
  metadata(req: Pick<InferInput, 'model_name' | 'model_version'>): KserveModelMetadata {
    if (req.model_name === OCR_MODEL_NAME && this.deps.ocr) {
      if (!this.deps.ocr.ready) throw new TaskFailure('MODEL_NOT_FOUND', `model ${OCR_MODEL_NAME} is not ready`);
      return {
        name: OCR_MODEL_NAME,
        versions: ['1'],
        platform: 'taskwire_ocr_pipeline',
        inputs: [{ name: 'image', datatype: 'BYTES', shape: [1] }],
        outputs: [
          { name: 'text', datatype: 'BYTES', shape: [1] },
          { name: 'lines', datatype: 'BYTES', shape: [-1] },
        ],
      };
    }
    return this.deps.engine.metadata(req.model_name, req.model_version);
  }

  /** CONTROL_ACTION_LOAD_MODEL: (re)loads a repository model (default: latest version). */
  async loadModel(name: string, version?: string): Promise<void> {
    await this.deps.engine.load(name, version);
  }

  /** CONTROL_ACTION_UNLOAD_MODEL: unloads one version or all. */
  async unloadModel(name: string, version?: string): Promise<void> {
    await this.deps.engine.unload(name, version);
  }

  close(): Promise<void> {
    return this.deps.release();
  }

  private async runOcr(req: InferInput, ctx: TaskContext): Promise<TaskOutput> {
    const input = req.inputs[0];
    if (req.inputs.length !== 1 || !input || input.datatype !== 'BYTES' || input.data.length !== 1) {
      throw new TaskFailure(
        'BAD_INPUT',
        `model ${OCR_MODEL_NAME} expects one input image (BYTES [1]) holding a base64 PNG or JPEG`,
      );
    }
    const result = await this.deps.ocr!.read(String(input.data[0]), ctx.signal);
    const outputs: KserveOutputTensor[] = [
      { name: 'text', datatype: 'BYTES', shape: [1], data: [result.text] },
      { name: 'lines', datatype: 'BYTES', shape: [result.lines.length], data: result.lines.map((l) => JSON.stringify(l)) },
    ];
    const wanted = req.outputs?.map((o) => o.name);
    const output: InferOutput = {
      model_name: OCR_MODEL_NAME,
      model_version: '1',
      ...(req.id !== undefined ? { id: req.id } : {}),
      outputs: wanted && wanted.length > 0 ? outputs.filter((o) => wanted.includes(o.name)) : outputs,
    };
    return { output: output as unknown as JsonValue };
  }
}
