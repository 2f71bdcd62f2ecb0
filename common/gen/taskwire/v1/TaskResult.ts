// Original file: proto/taskwire/v1/result_service.proto

import type { TaskOutcome as _taskwire_v1_TaskOutcome, TaskOutcome__Output as _taskwire_v1_TaskOutcome__Output } from '../../taskwire/v1/TaskOutcome.js';
import type { Value as _google_protobuf_Value, Value__Output as _google_protobuf_Value__Output } from '../../google/protobuf/Value.js';
import type { TaskError as _taskwire_v1_TaskError, TaskError__Output as _taskwire_v1_TaskError__Output } from '../../taskwire/v1/TaskError.js';
import type { Usage as _taskwire_v1_Usage, Usage__Output as _taskwire_v1_Usage__Output } from '../../taskwire/v1/Usage.js';
import type { Long } from '@grpc/proto-loader';

export interface TaskResult {
  'task_id'?: (string);
  'attempt'?: (number);
  'worker_id'?: (string);
  'result_token'?: (string);
  'outcome'?: (_taskwire_v1_TaskOutcome);
  'output'?: (_google_protobuf_Value | null);
  'error'?: (_taskwire_v1_TaskError | null);
  /**
   * Unix epoch ms when the worker started and finished the attempt.
   */
  'started_at_ms'?: (number | string | Long);
  'finished_at_ms'?: (number | string | Long);
  'usage'?: (_taskwire_v1_Usage | null);
  /**
   * Highest chunk seq sent before this result (0 if none).
   */
  'last_seq'?: (number | string | Long);
}

export interface TaskResult__Output {
  'task_id': (string);
  'attempt': (number);
  'worker_id': (string);
  'result_token': (string);
  'outcome': (_taskwire_v1_TaskOutcome__Output);
  'output': (_google_protobuf_Value__Output | null);
  'error': (_taskwire_v1_TaskError__Output | null);
  /**
   * Unix epoch ms when the worker started and finished the attempt.
   */
  'started_at_ms': (number);
  'finished_at_ms': (number);
  'usage': (_taskwire_v1_Usage__Output | null);
  /**
   * Highest chunk seq sent before this result (0 if none).
   */
  'last_seq': (number);
}
