/**
 * The interface every task kind implements on a worker (echo, sleep, llm,
 * infer, ocr, ...). A handler gets validated input, an AbortSignal that fires
 * on cancel / deadline / shutdown, and a way to stream partial output.
 */
import type { HandlerTelemetry } from './handler-telemetry.js';
import type { ZodType } from 'zod';
import { formatSchemaIssue } from '../../common/schema-issue.js';
import type { Logger } from '../../common/logger.js';
import type { JsonValue } from '../../common/json-value.js';
import type { ModelInfo } from '../../common/wire.js';

export interface TaskChunk {
  /** Text delta (tokens, words) shown as it arrives. */
  text?: string;
  /** Structured partial output. */
  data?: JsonValue;
}

export interface TaskUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface TaskOutput {
  output: JsonValue;
  usage?: TaskUsage;
}

export interface TaskContext {
  readonly taskId: string;
  readonly attempt: number;
  readonly kind: string;
  readonly input: JsonValue;
  /** Fires on cancel, deadline or worker shutdown; `signal.reason` says which. */
  readonly signal: AbortSignal;
  /** Unix epoch ms after which the master no longer accepts a result. */
  readonly deadlineMs: number;
  readonly log: Logger;
  /** Someone watches partial output; when false, emit() is a no-op (skip building chunks if that costs). */
  readonly stream: boolean;
  /** Streams a piece of output to the user. Cheap; batched by the reporter. */
  emit(chunk: TaskChunk): void;
  /** Secrets named by the assignment (fetched over gRPC with the result token). */
  secrets(): Promise<Record<string, string>>;
  /** The master's blob store (gRPC FetchBlob / PutBlob with the result token); absent when not connected. */
  readonly blobs?: TaskBlobs;
  /** Provider calls and inference runs, for metrics and traces; absent when the worker keeps neither. */
  readonly telemetry?: HandlerTelemetry;
}

/** Big binaries (images) go over gRPC, never over MQTT. */
export interface TaskBlobs {
  fetch(id: string): Promise<Buffer>;
  put(data: Buffer, contentType: string): Promise<{ id: string; size: number }>;
}

/** Codes handlers use for TaskFailure; shown to users, stable for clients. */
export type TaskFailureCode =
  | 'BAD_INPUT'
  | 'UNSUPPORTED'
  | 'MODEL_NOT_FOUND'
  | 'PROVIDER_AUTH'
  | 'PROVIDER_RATE_LIMIT'
  | 'PROVIDER_UNAVAILABLE'
  | 'PROVIDER_ERROR'
  | 'SAFETY_BLOCKED'
  | 'INFERENCE_ERROR'
  | 'CANCELLED'
  | 'DEADLINE_EXCEEDED'
  | 'INTERNAL';

/** A classified failure: `retryable` tells the master whether another attempt may help. */
export class TaskFailure extends Error {
  readonly code: TaskFailureCode;
  readonly retryable: boolean;
  /** What the failed attempt used before it failed (tokens streamed, say): reported with the failure and billed. */
  readonly usage: TaskUsage | undefined;
  constructor(code: TaskFailureCode, message: string, options: { retryable?: boolean; cause?: unknown; usage?: TaskUsage } = {}) {
    super(message, { cause: options.cause });
    this.name = 'TaskFailure';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.usage = options.usage;
  }
}

export interface TaskHandler {
  /** The task kind, e.g. "echo". */
  readonly kind: string;
  /** Loads models / probes providers. A handler that cannot serve throws or returns false. */
  start?(): Promise<boolean>;
  /** Models / provider models to advertise in WorkerStatus.models. */
  models?(): ModelInfo[];
  run(ctx: TaskContext): Promise<TaskOutput>;
  /**
   * The worker calls this once with a function to call whenever models() or
   * readiness changed (model loaded, provider cooling down), so it republishes
   * its status.
   */
  onChange?(listener: () => void): void;
  /** Model loads (ok or failed) since the last call, for the worker's model-load metrics (inference handlers). */
  modelLoads?(): ModelLoad[];
  close?(): Promise<void>;
}

/** One model load attempt (worker/inference/inference-engine.ts ModelLoadEvent). */
export interface ModelLoad {
  model: string;
  ok: boolean;
  seconds: number;
}

/** Validates a task's input against its kind's schema; a mismatch is BAD_INPUT naming the field (`input.messages.0.role: ...`). */
export function parseTaskInput<T>(schema: ZodType<T>, input: JsonValue): T {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new TaskFailure('BAD_INPUT', formatSchemaIssue(parsed.error, 'input'));
  return parsed.data;
}
