// Original file: proto/taskwire/v1/result_service.proto

import type { Long } from '@grpc/proto-loader';

export interface Heartbeat {
  'ts_ms'?: (number | string | Long);
}

export interface Heartbeat__Output {
  'ts_ms': (number);
}
