// Original file: proto/taskwire/v1/cluster.proto


export interface LogLine {
  /**
   * RFC 3339 time with milliseconds.
   */
  'ts'?: (string);
  /**
   * "trace" | "debug" | "info" | "warn" | "error" | "fatal"
   */
  'level'?: (string);
  /**
   * "master" or the worker id.
   */
  'source'?: (string);
  'msg'?: (string);
  'task_id'?: (string);
}

export interface LogLine__Output {
  /**
   * RFC 3339 time with milliseconds.
   */
  'ts': (string);
  /**
   * "trace" | "debug" | "info" | "warn" | "error" | "fatal"
   */
  'level': (string);
  /**
   * "master" or the worker id.
   */
  'source': (string);
  'msg': (string);
  'task_id': (string);
}
