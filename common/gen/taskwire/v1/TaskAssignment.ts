// Original file: proto/taskwire/v1/task.proto

import type { Value as _google_protobuf_Value, Value__Output as _google_protobuf_Value__Output } from '../../google/protobuf/Value.js';
import type { Long } from '@grpc/proto-loader';

/**
 * One attempt of one task, given to one worker.
 */
export interface TaskAssignment {
  'task_id'?: (string);
  /**
   * 1 for the first attempt; each re-dispatch increments it.
   */
  'attempt'?: (number);
  /**
   * "echo", "sleep", "llm", "infer", "ocr", ...
   */
  'kind'?: (string);
  /**
   * Kind-specific input, any JSON value.
   */
  'input'?: (_google_protobuf_Value | null);
  /**
   * Opaque per-attempt token; echo it on every result for this attempt.
   */
  'result_token'?: (string);
  /**
   * Unix epoch ms after which the master no longer accepts this attempt.
   */
  'deadline_ms'?: (number | string | Long);
  'priority'?: (number);
  /**
   * When the task was accepted by the master (Unix epoch ms).
   */
  'enqueued_at_ms'?: (number | string | Long);
  /**
   * Send a HEARTBEAT result event at least this often while running.
   */
  'heartbeat_interval_ms'?: (number);
  /**
   * Names of secrets to fetch with ResultService.FetchSecrets (never on MQTT).
   */
  'secret_names'?: (string)[];
  /**
   * True when someone watches partial output (chat, streaming API): send
   * CHUNK events. When false the worker may skip chunks; the final result
   * carries the whole output either way.
   */
  'stream'?: (boolean);
  /**
   * W3C trace context (`00-{trace id}-{span id}-{flags}`) of the master's span
   * for this attempt, when the master traces (OTEL_EXPORTER_OTLP_ENDPOINT set);
   * empty otherwise. A worker that traces continues the trace from it; one
   * that does not ignores it.
   */
  'traceparent'?: (string);
}

/**
 * One attempt of one task, given to one worker.
 */
export interface TaskAssignment__Output {
  'task_id': (string);
  /**
   * 1 for the first attempt; each re-dispatch increments it.
   */
  'attempt': (number);
  /**
   * "echo", "sleep", "llm", "infer", "ocr", ...
   */
  'kind': (string);
  /**
   * Kind-specific input, any JSON value.
   */
  'input': (_google_protobuf_Value__Output | null);
  /**
   * Opaque per-attempt token; echo it on every result for this attempt.
   */
  'result_token': (string);
  /**
   * Unix epoch ms after which the master no longer accepts this attempt.
   */
  'deadline_ms': (number);
  'priority': (number);
  /**
   * When the task was accepted by the master (Unix epoch ms).
   */
  'enqueued_at_ms': (number);
  /**
   * Send a HEARTBEAT result event at least this often while running.
   */
  'heartbeat_interval_ms': (number);
  /**
   * Names of secrets to fetch with ResultService.FetchSecrets (never on MQTT).
   */
  'secret_names': (string)[];
  /**
   * True when someone watches partial output (chat, streaming API): send
   * CHUNK events. When false the worker may skip chunks; the final result
   * carries the whole output either way.
   */
  'stream': (boolean);
  /**
   * W3C trace context (`00-{trace id}-{span id}-{flags}`) of the master's span
   * for this attempt, when the master traces (OTEL_EXPORTER_OTLP_ENDPOINT set);
   * empty otherwise. A worker that traces continues the trace from it; one
   * that does not ignores it.
   */
  'traceparent': (string);
}
