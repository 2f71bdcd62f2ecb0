// Original file: proto/taskwire/v1/result_service.proto

import type { Long } from '@grpc/proto-loader';

export interface StreamResultsResponse {
  'accepted'?: (number | string | Long);
  'rejected'?: (number | string | Long);
}

export interface StreamResultsResponse__Output {
  'accepted': (number);
  'rejected': (number);
}
