// Original file: proto/taskwire/v1/result_service.proto


export interface PutBlobChunk {
  /**
   * Identity and content type: set on the first message only.
   */
  'task_id'?: (string);
  'attempt'?: (number);
  'worker_id'?: (string);
  'result_token'?: (string);
  'content_type'?: (string);
  'data'?: (Buffer | Uint8Array | string);
}

export interface PutBlobChunk__Output {
  /**
   * Identity and content type: set on the first message only.
   */
  'task_id': (string);
  'attempt': (number);
  'worker_id': (string);
  'result_token': (string);
  'content_type': (string);
  'data': (Buffer);
}
