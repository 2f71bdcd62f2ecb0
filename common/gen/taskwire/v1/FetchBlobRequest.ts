// Original file: proto/taskwire/v1/result_service.proto


export interface FetchBlobRequest {
  'task_id'?: (string);
  'attempt'?: (number);
  'worker_id'?: (string);
  'result_token'?: (string);
  /**
   * sha256 of the blob, 64 hex digits.
   */
  'blob_id'?: (string);
}

export interface FetchBlobRequest__Output {
  'task_id': (string);
  'attempt': (number);
  'worker_id': (string);
  'result_token': (string);
  /**
   * sha256 of the blob, 64 hex digits.
   */
  'blob_id': (string);
}
