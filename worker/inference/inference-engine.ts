/**
 * The inference engine of a worker: the models it has loaded (from the model
 * repository, or registered by a handler such as OCR), each version served by
 * a SessionPool of worker threads behind a DynamicBatcher. It validates
 * requests against the model's own metadata, records batch statistics, and
 * tells listeners when the set of models or their readiness changes.
 */
import os from 'node:os';
import type { Logger } from '../../common/logger.js';
import { systemClock, type Clock } from '../../common/clock.js';
import { ClosedError, ConfigError } from '../../common/errors.js';
import type { KserveModelMetadata } from '../../common/kinds/inference.js';
import { TaskFailure } from '../handlers/task-handler.js';
import { CoreBudget } from './core-budget.js';
import { DynamicBatcher, QueueFullError, systemTimer, type BatchRecord, type Timer } from './dynamic-batcher.js';
import { chooseExecutionProvider } from './execution-provider.js';
import { EXECUTION_PROVIDERS, MODEL_CONFIG_DEFAULTS, type ExecutionProviderChoice, type ModelConfig } from './model-config.js';
import { modelPath, readRepositoryModel, scanRepository } from './model-repository.js';
import { SessionPool } from './session-pool.js';
import type { ThreadValueMetadata } from './thread-protocol.js';
import { validateFeeds } from './tensor-validation.js';
import { ORT_TO_KSERVE, type WireFeeds } from './wire-tensor.js';

export interface InferenceEngineOptions {
  /** Model repository directory (default ./models). */
  modelsDir?: string;
  /** Default execution provider for models whose config does not say (default "auto"). */
  executionProvider?: ExecutionProviderChoice;
  /** Cores onnxruntime may compute on at once, over all models (default os.availableParallelism()). */
  maxThreads?: number;
  /** Size given to non-batch dynamic dims when warming a model up (default 32). */
  warmupDim?: number;
  /** Requests waiting per model version before new ones are refused (default 1024). */
  maxQueued?: number;
  /** Largest request, in tensor bytes (default 64 MiB). */
  maxRequestBytes?: number;
  closeTimeoutMs?: number;
  clock?: Clock;
  timer?: Timer;
  /** Every model run, for metrics (batch size, queue and compute time). */
  onBatch?: (model: string, version: string, record: BatchRecord) => void;
}

export interface ResolvedInferenceEngineOptions extends Required<Omit<InferenceEngineOptions, 'onBatch'>> {
  onBatch: InferenceEngineOptions['onBatch'];
}

export const INFERENCE_ENGINE_DEFAULTS = {
  modelsDir: './models',
  executionProvider: 'auto' as ExecutionProviderChoice,
  warmupDim: 32,
  maxQueued: 1024,
  maxRequestBytes: 64 * 1024 * 1024,
  closeTimeoutMs: 5000,
};

export function resolveInferenceEngineOptions(o: InferenceEngineOptions = {}): ResolvedInferenceEngineOptions {
  const maxThreads = o.maxThreads ?? os.availableParallelism();
  if (!Number.isInteger(maxThreads) || maxThreads < 1) throw new ConfigError('maxThreads', `must be an integer >= 1, got ${maxThreads}`);
  const ep = o.executionProvider ?? INFERENCE_ENGINE_DEFAULTS.executionProvider;
  if (!EXECUTION_PROVIDERS.includes(ep)) throw new ConfigError('executionProvider', `expected one of ${EXECUTION_PROVIDERS.join(', ')}, got "${ep}"`);
  return {
    modelsDir: o.modelsDir ?? INFERENCE_ENGINE_DEFAULTS.modelsDir,
    executionProvider: ep,
    maxThreads,
    warmupDim: o.warmupDim ?? INFERENCE_ENGINE_DEFAULTS.warmupDim,
    maxQueued: o.maxQueued ?? INFERENCE_ENGINE_DEFAULTS.maxQueued,
    maxRequestBytes: o.maxRequestBytes ?? INFERENCE_ENGINE_DEFAULTS.maxRequestBytes,
    closeTimeoutMs: o.closeTimeoutMs ?? INFERENCE_ENGINE_DEFAULTS.closeTimeoutMs,
    clock: o.clock ?? systemClock,
    timer: o.timer ?? systemTimer,
    onBatch: o.onBatch,
  };
}

export type ModelState = 'loading' | 'ready' | 'failed';

export interface ModelStatus {
  name: string;
  /** Versions on disk (or registered). */
  versions: string[];
  /** Versions loaded and serving. */
  readyVersions: string[];
  state: ModelState;
  executionProvider: 'cpu' | 'cuda' | '';
  error?: string;
}

export interface BatchStats {
  requests: number;
  batches: number;
  rows: number;
  failedBatches: number;
  queueMsTotal: number;
  computeMsTotal: number;
  /** batches by size (rows). */
  sizes: Record<number, number>;
}

interface LoadedVersion {
  version: string;
  pool: SessionPool;
  batcher: DynamicBatcher;
  maxBatchSize: number;
  stats: BatchStats;
}

interface ModelEntry {
  name: string;
  versions: string[];
  pathOf: (version: string) => string;
  config: ModelConfig;
  state: ModelState;
  error?: string;
  loaded: Map<string, LoadedVersion>;
}

export interface InferResult {
  modelName: string;
  modelVersion: string;
  outputs: WireFeeds;
  queueMs: number;
  computeMs: number;
  batchRows: number;
}

/** One model (version) load attempt: what the worker's model-load metrics count. */
export interface ModelLoadEvent {
  model: string;
  version: string;
  ok: boolean;
  /** Session creation and warm-up, until ready (or the failure). */
  seconds: number;
}

/** Load events kept until taken (a worker takes them every status interval); older ones are dropped. */
export const MAX_LOAD_EVENTS = 1000;

function emptyStats(): BatchStats {
  return { requests: 0, batches: 0, rows: 0, failedBatches: 0, queueMsTotal: 0, computeMsTotal: 0, sizes: {} };
}

export class InferenceEngine {
  readonly options: ResolvedInferenceEngineOptions;
  private readonly log: Logger;
  private readonly budget: CoreBudget;
  private readonly models = new Map<string, ModelEntry>();
  private readonly listeners = new Set<() => void>();
  private loadEvents: ModelLoadEvent[] = [];
  private closed = false;

  constructor(options: InferenceEngineOptions, logger: Logger) {
    this.options = resolveInferenceEngineOptions(options);
    this.log = logger;
    this.budget = new CoreBudget(this.options.maxThreads);
  }

  /** Loads every model in the repository; a model that fails is reported failed, not fatal. */
  async start(): Promise<void> {
    const { models, errors } = await scanRepository(this.options.modelsDir);
    for (const e of errors) {
      this.log.error({ model: e.name, err: e.error.message }, 'model repository entry is invalid');
      this.models.set(e.name, {
        name: e.name,
        versions: [],
        pathOf: () => '',
        config: MODEL_CONFIG_DEFAULTS,
        state: 'failed',
        error: e.error.message,
        loaded: new Map(),
      });
    }
    if (errors.length > 0) this.changed();
    await Promise.all(models.map((m) => this.loadEntry({ ...m, pathOf: (v) => modelPath(m, v) }, undefined)));
  }

  /** The loads (ok or failed) since the last call, oldest first, at most MAX_LOAD_EVENTS. */
  takeLoads(): ModelLoadEvent[] {
    const out = this.loadEvents;
    this.loadEvents = [];
    return out;
  }

  private loaded(event: ModelLoadEvent): void {
    if (this.loadEvents.length >= MAX_LOAD_EVENTS) this.loadEvents.shift();
    this.loadEvents.push(event);
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Registers and loads a model that is not in the repository (e.g. the OCR models). */
  async register(name: string, version: string, path: string, config: ModelConfig): Promise<ModelStatus> {
    await this.loadEntry({ name, versions: [version], config, pathOf: () => path }, version);
    return this.status(name)!;
  }

  /** (Re)loads a repository model by name: the given version, or the latest. */
  async load(name: string, version?: string): Promise<ModelStatus> {
    const m = await readRepositoryModel(this.options.modelsDir, name).catch((err: Error) => {
      const entry = this.models.get(name);
      if (entry && entry.loaded.size === 0) Object.assign(entry, { state: 'failed', error: err.message });
      throw new TaskFailure('INFERENCE_ERROR', `model ${name}: ${err.message}`);
    });
    if (!m) throw new TaskFailure('MODEL_NOT_FOUND', `no model ${name} with a <version>/model.onnx in ${this.options.modelsDir}`);
    if (version !== undefined && !m.versions.includes(version)) {
      throw new TaskFailure('MODEL_NOT_FOUND', `model ${name} has no version ${version} (has ${m.versions.join(', ')})`);
    }
    await this.loadEntry({ ...m, pathOf: (v) => modelPath(m, v) }, version);
    const status = this.status(name)!;
    if (status.state === 'failed') throw new TaskFailure('INFERENCE_ERROR', `model ${name} failed to load: ${status.error ?? ''}`);
    return status;
  }

  /** Unloads a model (all versions, or one). Queued requests are rejected. */
  async unload(name: string, version?: string): Promise<void> {
    const entry = this.models.get(name);
    if (!entry) throw new TaskFailure('MODEL_NOT_FOUND', `model ${name} is not loaded`);
    const versions = version === undefined ? [...entry.loaded.keys()] : [version];
    await Promise.all(versions.map((v) => this.closeVersion(entry, v)));
    if (entry.loaded.size === 0) this.models.delete(name);
    this.log.info({ model: name, version }, 'model unloaded');
    this.changed();
  }

  list(): ModelStatus[] {
    return [...this.models.keys()].map((n) => this.status(n)!);
  }

  status(name: string): ModelStatus | undefined {
    const e = this.models.get(name);
    if (!e) return undefined;
    const first = [...e.loaded.values()][0];
    return {
      name,
      versions: [...e.versions],
      readyVersions: [...e.loaded.keys()],
      state: e.state,
      executionProvider: first?.pool.executionProvider ?? '',
      ...(e.error !== undefined ? { error: e.error } : {}),
    };
  }

  stats(name: string, version?: string): BatchStats | undefined {
    const v = this.pick(name, version, false);
    return v?.stats;
  }

  /** KServe v2 model metadata, from the loaded session. */
  metadata(name: string, version?: string): KserveModelMetadata {
    const v = this.pick(name, version, true)!;
    const conv = (list: ThreadValueMetadata[]): KserveModelMetadata['inputs'] =>
      list.filter((m) => m.type !== '').map((m) => ({ name: m.name, datatype: ORT_TO_KSERVE[m.type as Exclude<typeof m.type, ''>], shape: [...m.shape] }));
    return {
      name,
      versions: [...(this.models.get(name)?.loaded.keys() ?? [])],
      platform: 'onnxruntime_onnx',
      inputs: conv(v.pool.inputs),
      outputs: conv(v.pool.outputs),
    };
  }

  /** Validates and runs one request through the model's batcher. */
  async infer(name: string, version: string | undefined, feeds: WireFeeds, signal?: AbortSignal): Promise<InferResult> {
    const v = this.pick(name, version, true)!;
    const checked = validateFeeds(feeds, {
      model: name,
      inputs: v.pool.inputs,
      maxBatchSize: v.maxBatchSize,
      maxRequestBytes: this.options.maxRequestBytes,
    });
    try {
      const r = await v.batcher.submit({ feeds, rows: checked.rows, key: checked.key }, signal);
      return { modelName: name, modelVersion: v.version, outputs: r.outputs, queueMs: r.queueMs, computeMs: r.computeMs, batchRows: r.batchRows };
    } catch (err) {
      if (err instanceof TaskFailure || signal?.aborted) throw err;
      if (err instanceof QueueFullError || err instanceof ClosedError) {
        // full queue, or the model was unloaded / reloaded under the request: another attempt may succeed
        throw new TaskFailure('INFERENCE_ERROR', `model ${name}: ${err.message}`, { retryable: true, cause: err });
      }
      throw new TaskFailure('INFERENCE_ERROR', `model ${name} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Unloads everything. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      [...this.models.values()].flatMap((e) => [...e.loaded.keys()].map((v) => this.closeVersion(e, v))),
    );
    this.models.clear();
    this.listeners.clear();
  }

  private pick(name: string, version: string | undefined, required: boolean): LoadedVersion | undefined {
    const e = this.models.get(name);
    let v: LoadedVersion | undefined;
    if (e) {
      if (version !== undefined) v = e.loaded.get(version);
      else v = [...e.loaded.values()].sort((a, b) => Number(b.version) - Number(a.version))[0];
    }
    if (!v && required) {
      const known = this.list()
        .filter((s) => s.readyVersions.length > 0)
        .map((s) => s.name);
      if (e && version !== undefined && e.loaded.size > 0) {
        throw new TaskFailure('MODEL_NOT_FOUND', `model ${name} has no version ${version} loaded (loaded: ${[...e.loaded.keys()].join(', ')})`);
      }
      if (e && e.state !== 'ready') {
        throw new TaskFailure('MODEL_NOT_FOUND', `model ${name} is ${e.state}${e.error ? `: ${e.error}` : ''}`, { retryable: e.state === 'loading' });
      }
      throw new TaskFailure('MODEL_NOT_FOUND', `unknown model ${name}; this worker serves ${known.length ? known.join(', ') : 'no models'}`);
    }
    return v;
  }

  private changed(): void {
    for (const l of this.listeners) {
      try {
        l();
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'model change listener threw');
      }
    }
  }

  private async closeVersion(e: ModelEntry, version: string): Promise<void> {
    const v = e.loaded.get(version);
    if (!v) return;
    e.loaded.delete(version);
    v.batcher.close();
    await v.pool.close();
  }

  private threadsFor(config: ModelConfig): number {
    const cores = this.options.maxThreads;
    const auto = Math.max(1, Math.floor(cores / config.instanceCount));
    return Math.min(cores, config.intraOpThreads > 0 ? config.intraOpThreads : auto);
  }

  private async loadEntry(
    m: { name: string; versions: string[]; config: ModelConfig; pathOf: (v: string) => string },
    version: string | undefined,
  ): Promise<void> {
    if (this.closed) return;
    const target = version ?? m.versions[m.versions.length - 1]!;
    const existing = this.models.get(m.name);
    const entry: ModelEntry = existing ?? { name: m.name, versions: m.versions, pathOf: m.pathOf, config: m.config, state: 'loading', loaded: new Map() };
    Object.assign(entry, { versions: m.versions, pathOf: m.pathOf, config: m.config, state: entry.loaded.size > 0 ? entry.state : 'loading' });
    delete entry.error;
    this.models.set(m.name, entry);
    this.changed();
    const config = m.config;
    const choice = chooseExecutionProvider(config.executionProvider ?? this.options.executionProvider);
    const intraOpThreads = this.threadsFor(config);
    const log = this.log.child({ model: m.name, version: target });
    if (choice.fallbackReason) log.warn(`CUDA requested but ${choice.fallbackReason}; falling back to CPU`);
    if (intraOpThreads * config.instanceCount > this.options.maxThreads) {
      log.info({ intraOpThreads, instances: config.instanceCount, cores: this.options.maxThreads }, 'runs are throttled by the core budget');
    }
    const loadStart = performance.now();
    try {
      const pool = await SessionPool.create({
        load: { modelPath: m.pathOf(target), intraOpThreads, executionProvider: choice.provider, warmupDim: this.options.warmupDim },
        instanceCount: config.instanceCount,
        budget: this.budget,
        closeTimeoutMs: this.options.closeTimeoutMs,
        onThreadError: (err) => log.error({ err: err.message }, 'session thread died; replacing it'),
      });
      if (pool.fallbackReason) log.warn(`CUDA session failed (${pool.fallbackReason}); falling back to CPU`);
      if (pool.warmupError) log.warn({ err: pool.warmupError }, 'warm-up run failed (the model may need specific input sizes)');
      const batchable =
        pool.inputs.every((i) => i.shape.length > 0 && i.shape[0] === -1) && pool.outputs.every((o) => o.shape.length > 0 && o.shape[0] === -1);
      if (config.maxBatchSize > 1 && !batchable) log.warn('dim 0 of the inputs/outputs is not dynamic: batching disabled');
      const maxBatchSize = batchable ? config.maxBatchSize : 0;
      const stats = emptyStats();
      const batcher = new DynamicBatcher((feeds) => pool.run(feeds), {
        maxBatchSize,
        maxQueueDelayMs: config.maxQueueDelayMs,
        concurrency: pool.size,
        maxQueued: this.options.maxQueued,
        clock: this.options.clock,
        timer: this.options.timer,
        onBatch: (r) => {
          stats.batches++;
          stats.requests += r.requests;
          stats.rows += r.rows;
          if (!r.ok) stats.failedBatches++;
          stats.queueMsTotal += r.queueMs.reduce((a, b) => a + b, 0);
          stats.computeMsTotal += r.computeMs;
          stats.sizes[r.rows] = (stats.sizes[r.rows] ?? 0) + 1;
          this.options.onBatch?.(m.name, target, r);
        },
      });
      if (this.closed || this.models.get(m.name) !== entry) {
        batcher.close();
        await pool.close();
        return;
      }
      this.loaded({ model: m.name, version: target, ok: true, seconds: (performance.now() - loadStart) / 1000 });
      await this.closeVersion(entry, target);
      entry.loaded.set(target, { version: target, pool, batcher, maxBatchSize, stats });
      entry.state = 'ready';
      log.info(
        { ep: pool.executionProvider, loadMs: Math.round(pool.loadMs), instances: pool.size, intraOpThreads, maxBatchSize },
        'model ready',
      );
    } catch (err) {
      entry.state = entry.loaded.size > 0 ? 'ready' : 'failed';
      entry.error = (err as Error).message;
      log.error({ err: (err as Error).message }, 'model failed to load');
      this.loaded({ model: m.name, version: target, ok: false, seconds: (performance.now() - loadStart) / 1000 });
    }
    this.changed();
  }
}
