// Original file: proto/taskwire/v1/result_service.proto

import type { Long } from '@grpc/proto-loader';

export interface PutBlobResponse {
  'blob_id'?: (string);
  'size'?: (number | string | Long);
}

export interface PutBlobResponse__Output {
  'blob_id': (string);
  'size': (number);
}
