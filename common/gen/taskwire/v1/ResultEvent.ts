// Original file: proto/taskwire/v1/result_service.proto

import type { Started as _taskwire_v1_Started, Started__Output as _taskwire_v1_Started__Output } from '../../taskwire/v1/Started.js';
import type { ResultChunk as _taskwire_v1_ResultChunk, ResultChunk__Output as _taskwire_v1_ResultChunk__Output } from '../../taskwire/v1/ResultChunk.js';
import type { Heartbeat as _taskwire_v1_Heartbeat, Heartbeat__Output as _taskwire_v1_Heartbeat__Output } from '../../taskwire/v1/Heartbeat.js';
import type { TaskResult as _taskwire_v1_TaskResult, TaskResult__Output as _taskwire_v1_TaskResult__Output } from '../../taskwire/v1/TaskResult.js';
import type { Long } from '@grpc/proto-loader';

export interface ResultEvent {
  'task_id'?: (string);
  'attempt'?: (number);
  'worker_id'?: (string);
  'result_token'?: (string);
  /**
   * 1, 2, 3, ... per attempt over STARTED, CHUNK and HEARTBEAT events.
   */
  'seq'?: (number | string | Long);
  /**
   * The worker began running the attempt.
   */
  'started'?: (_taskwire_v1_Started | null);
  'chunk'?: (_taskwire_v1_ResultChunk | null);
  /**
   * Still alive and running this attempt.
   */
  'heartbeat'?: (_taskwire_v1_Heartbeat | null);
  'final'?: (_taskwire_v1_TaskResult | null);
  'event'?: "started"|"chunk"|"heartbeat"|"final";
}

export interface ResultEvent__Output {
  'task_id': (string);
  'attempt': (number);
  'worker_id': (string);
  'result_token': (string);
  /**
   * 1, 2, 3, ... per attempt over STARTED, CHUNK and HEARTBEAT events.
   */
  'seq': (number);
  /**
   * The worker began running the attempt.
   */
  'started'?: (_taskwire_v1_Started__Output | null);
  'chunk'?: (_taskwire_v1_ResultChunk__Output | null);
  /**
   * Still alive and running this attempt.
   */
  'heartbeat'?: (_taskwire_v1_Heartbeat__Output | null);
  'final'?: (_taskwire_v1_TaskResult__Output | null);
  'event'?: "started"|"chunk"|"heartbeat"|"final";
}
