// Original file: proto/taskwire/v1/result_service.proto

import type { Long } from '@grpc/proto-loader';

export interface Usage {
  'prompt_tokens'?: (number);
  'completion_tokens'?: (number);
  'total_tokens'?: (number);
  /**
   * Time to first token/chunk in ms, when the task streamed.
   */
  'ttft_ms'?: (number | string);
  /**
   * Added in v1 as a compatible extension (0 / absent: not measured).
   * CPU time (user + system, microseconds) the worker spent on this attempt;
   * a worker that runs several attempts at once in one process divides the
   * process's CPU time among the attempts running (docs/PROTOCOL.md).
   */
  'cpu_us'?: (number | string | Long);
  /**
   * Memory held for the attempt: resident set size (MiB) integrated over the
   * attempt's run time (ms), divided the same way: MiB x ms.
   */
  'mem_mib_ms'?: (number | string | Long);
}

export interface Usage__Output {
  'prompt_tokens': (number);
  'completion_tokens': (number);
  'total_tokens': (number);
  /**
   * Time to first token/chunk in ms, when the task streamed.
   */
  'ttft_ms': (number);
  /**
   * Added in v1 as a compatible extension (0 / absent: not measured).
   * CPU time (user + system, microseconds) the worker spent on this attempt;
   * a worker that runs several attempts at once in one process divides the
   * process's CPU time among the attempts running (docs/PROTOCOL.md).
   */
  'cpu_us': (number);
  /**
   * Memory held for the attempt: resident set size (MiB) integrated over the
   * attempt's run time (ms), divided the same way: MiB x ms.
   */
  'mem_mib_ms': (number);
}
