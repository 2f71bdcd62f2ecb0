/**
 * Optional handlers a worker process adds from its environment:
 * - `llm` when a provider is configured or a local Ollama answers;
 * - `embed` when one of those providers has an embedding model;
 * - `infer` (ONNX models in the model repository) and `ocr` (PP-OCR), whose
 *   models load in the background: the worker registers at once and
 *   advertises each model ready when it is.
 * - `image` (sharp), always (TASKWIRE_IMAGE_MAX_PIXELS bounds decoded images).
 * A handler that cannot serve is left out, so the worker does not claim its kind.
 */
import { type Env, envBool, envEnum, envInt, envString } from '../common/env.js';
import type { Logger } from '../common/logger.js';
import { ConfigError, errorMessage } from '../common/errors.js';
import type { TaskHandler } from '../worker/handlers/task-handler.js';
import { createLlmHandler } from '../worker/handlers/llm/create-llm-handler.js';
import { createEmbedHandler } from '../worker/handlers/llm/create-embed-handler.js';
import { createInference } from '../worker/inference/inference-handlers.js';
import { EXECUTION_PROVIDERS, type ExecutionProviderChoice } from '../worker/inference/model-config.js';

export interface InferenceFlags {
  modelsDir?: string;
  executionProvider?: string;
  ocr?: boolean;
}

export async function handlersFromEnv(env: Env, log: Logger, kinds: string[] | undefined, flags: InferenceFlags = {}): Promise<TaskHandler[]> {
  const out: TaskHandler[] = [];
  const wants = (kind: string) => !kinds || kinds.includes(kind);
  if (wants('llm')) {
    try {
      const llm = await createLlmHandler(env, log);
      if (llm) out.push(llm);
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      log.warn({ err: errorMessage(err) }, 'llm handler not available');
    }
  }
  if (wants('embed')) {
    try {
      const embed = await createEmbedHandler(env, log);
      if (embed) out.push(embed);
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      log.warn({ err: errorMessage(err) }, 'embed handler not available');
    }
  }
  if (wants('infer') || wants('ocr')) {
    const ep = flags.executionProvider ?? envEnum(env, 'TASKWIRE_EXECUTION_PROVIDER', EXECUTION_PROVIDERS);
    if (ep !== undefined && !(EXECUTION_PROVIDERS as readonly string[]).includes(ep)) {
      throw new ConfigError('--execution-provider', `expected one of ${EXECUTION_PROVIDERS.join(', ')}, got "${ep}"`);
    }
    const ocr = (flags.ocr ?? envBool(env, 'TASKWIRE_OCR') ?? true) && wants('ocr');
    const { handlers } = await createInference(
      {
        modelsDir: flags.modelsDir ?? envString(env, 'TASKWIRE_MODELS_DIR') ?? './models',
        ...(ep !== undefined && { executionProvider: ep as ExecutionProviderChoice }),
        ocr,
      },
      log,
      { start: false },
    );
    // Models load once the worker is online (startHandlersInBackground).
    for (const h of handlers) if (wants(h.kind)) out.push(h);
  }
  if (wants('image')) {
    // sharp loads libvips: only when the kind is wanted.
    const { ImageHandler } = await import('../worker/handlers/image/image-handler.js');
    out.push(new ImageHandler({ maxPixels: envInt(env, 'TASKWIRE_IMAGE_MAX_PIXELS', { min: 1 }) }));
  }
  return out;
}

/**
 * Loads the handlers' models in the background; models turn ready (and the
 * status says so) when loaded. Called once the worker is online, so a worker
 * the broker refuses stops without half-loaded models failing on the way out.
 */
export function startHandlersInBackground(handlers: TaskHandler[], log: Logger): void {
  for (const h of handlers) {
    void h.start?.().catch((err: unknown) => log.error({ kind: h.kind, err: errorMessage(err) }, 'models failed to load'));
  }
}
