// Original file: proto/taskwire/v1/result_service.proto

import type { Long } from '@grpc/proto-loader';

export interface Started {
  'started_at_ms'?: (number | string | Long);
}

export interface Started__Output {
  'started_at_ms': (number);
}
