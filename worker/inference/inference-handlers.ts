/**
 * Builds the inference task handlers of a worker around one shared engine:
 * `infer` (the model repository, plus `ppocr`) and `ocr`. The engine closes
 * when the last handler closes.
 */
import type { Logger } from '../../common/logger.js';
import { InferHandler } from '../handlers/infer.js';
import { OcrHandler } from '../handlers/ocr.js';
import type { TaskHandler } from '../handlers/task-handler.js';
import { InferenceEngine, type InferenceEngineOptions } from './inference-engine.js';
import { OcrService, type OcrServiceOptions } from './ocr/ocr-service.js';

export interface InferenceHandlersOptions extends InferenceEngineOptions {
  /** Serve the `ocr` kind and the `ppocr` model (default true). */
  ocr?: boolean;
  ocrOptions?: OcrServiceOptions;
}

export interface InferenceHandlers {
  engine: InferenceEngine;
  handlers: TaskHandler[];
}

/**
 * Like createInferenceHandlers, but also returns the engine (metrics, load /
 * unload control). With `start` (default true) the models are loaded before
 * it resolves: the repository (a model that fails is reported `failed`) and
 * OCR (if OCR cannot load, it is logged and `ppocr` is advertised not ready).
 */
export async function createInference(
  options: InferenceHandlersOptions,
  logger: Logger,
  { start = true }: { start?: boolean } = {},
): Promise<InferenceHandlers> {
  const log = logger.child({ component: 'inference' });
  const engine = new InferenceEngine(options, log);
  const ocr = options.ocr === false ? undefined : new OcrService(engine, options.ocrOptions);
  let holders = ocr ? 2 : 1;
  const release = async (): Promise<void> => {
    holders--;
    if (holders === 0) await engine.close();
  };
  let started: Promise<void> | undefined;
  const handlers: TaskHandler[] = [
    new InferHandler({
      engine,
      start: () => (started ??= engine.start()),
      ...(ocr ? { ocr } : {}),
      release: once(release),
    }),
  ];
  if (ocr) handlers.push(new OcrHandler({ engine, ocr, release: once(release) }));
  if (start) {
    try {
      await Promise.all(
        handlers.map((h) =>
          h.start?.().catch((err: unknown) => {
            if (h.kind !== 'ocr') throw err;
            log.error({ err: (err as Error).message }, 'OCR models failed to load; ocr is not ready');
            return false;
          }),
        ),
      );
    } catch (err) {
      await engine.close();
      throw err;
    }
  }
  return { engine, handlers };
}

/** `infer` and (unless options.ocr === false) `ocr` handlers, with their models loaded. */
export async function createInferenceHandlers(options: InferenceHandlersOptions, logger: Logger): Promise<TaskHandler[]> {
  return (await createInference(options, logger)).handlers;
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let p: Promise<void> | undefined;
  return () => (p ??= fn());
}
