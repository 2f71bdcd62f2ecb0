// Original file: proto/taskwire/v1/result_service.proto


export interface TaskError {
  /**
   * Stable machine-readable code, e.g. "BAD_INPUT", "PROVIDER_AUTH".
   */
  'code'?: (string);
  'message'?: (string);
  /**
   * True if another attempt (maybe on another worker) may succeed.
   */
  'retryable'?: (boolean);
}

export interface TaskError__Output {
  /**
   * Stable machine-readable code, e.g. "BAD_INPUT", "PROVIDER_AUTH".
   */
  'code': (string);
  'message': (string);
  /**
   * True if another attempt (maybe on another worker) may succeed.
   */
  'retryable': (boolean);
}
