/**
 * `models/<name>/config.json`: how one model is served. Every field is
 * optional; `resolveModelConfig()` fills in DEFAULTS and validates.
 *
 *   {
 *     "max_batch_size": 8,        // 0 = no batching (dim 0 is not a batch dim)
 *     "max_queue_delay_ms": 2,    // how long a request may wait for others to batch with
 *     "instance_count": 1,        // worker threads, one session each
 *     "intra_op_threads": 1,      // onnxruntime threads per session (0 = cores / instances)
 *     "labels": ["cat", "dog"],   // optional class labels (returned in metadata)
 *     "execution_provider": "cpu" // "cpu" | "cuda" | "auto" (default: the engine's)
 *   }
 */
import { z } from 'zod';
import { formatSchemaIssue } from '../../common/schema-issue.js';

export const EXECUTION_PROVIDERS = ['cpu', 'cuda', 'auto'] as const;
export type ExecutionProviderChoice = (typeof EXECUTION_PROVIDERS)[number];

export const MAX_BATCH_SIZE_LIMIT = 1024;

export const modelConfigSchema = z
  .object({
    max_batch_size: z.number().int().min(0).max(MAX_BATCH_SIZE_LIMIT).optional(),
    max_queue_delay_ms: z.number().min(0).max(10_000).optional(),
    instance_count: z.number().int().min(1).max(64).optional(),
    intra_op_threads: z.number().int().min(0).max(256).optional(),
    labels: z.array(z.string().max(256)).max(100_000).optional(),
    execution_provider: z.enum(EXECUTION_PROVIDERS).optional(),
  })
  .strict();
export type ModelConfigFile = z.input<typeof modelConfigSchema>;

export interface ModelConfig {
  maxBatchSize: number;
  maxQueueDelayMs: number;
  instanceCount: number;
  /** 0 = automatic (cores / instance_count). */
  intraOpThreads: number;
  labels: string[] | undefined;
  /** undefined = the engine's default. */
  executionProvider: ExecutionProviderChoice | undefined;
}

export const MODEL_CONFIG_DEFAULTS: ModelConfig = {
  maxBatchSize: 8,
  maxQueueDelayMs: 2,
  instanceCount: 1,
  intraOpThreads: 0,
  labels: undefined,
  executionProvider: undefined,
};

export class ModelConfigError extends Error {
  readonly code = 'MODEL_CONFIG';
  constructor(where: string, message: string) {
    super(`${where}: ${message}`);
    this.name = 'ModelConfigError';
  }
}

/** Validates parsed config.json (or a partial object) and fills in defaults. */
export function resolveModelConfig(raw: unknown, where = 'config.json'): ModelConfig {
  const parsed = modelConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new ModelConfigError(where, formatSchemaIssue(parsed.error));
  const c = parsed.data;
  return {
    maxBatchSize: c.max_batch_size ?? MODEL_CONFIG_DEFAULTS.maxBatchSize,
    maxQueueDelayMs: c.max_queue_delay_ms ?? MODEL_CONFIG_DEFAULTS.maxQueueDelayMs,
    instanceCount: c.instance_count ?? MODEL_CONFIG_DEFAULTS.instanceCount,
    intraOpThreads: c.intra_op_threads ?? MODEL_CONFIG_DEFAULTS.intraOpThreads,
    labels: c.labels,
    executionProvider: c.execution_provider,
  };
}
