// Original file: proto/taskwire/v1/result_service.proto

import type { Long } from '@grpc/proto-loader';

export interface BlobChunk {
  'data'?: (Buffer | Uint8Array | string);
  /**
   * Set on the first chunk only.
   */
  'content_type'?: (string);
  'size'?: (number | string | Long);
}

export interface BlobChunk__Output {
  'data': (Buffer);
  /**
   * Set on the first chunk only.
   */
  'content_type': (string);
  'size': (number);
}
