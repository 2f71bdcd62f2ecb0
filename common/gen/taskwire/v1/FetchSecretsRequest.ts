// Original file: proto/taskwire/v1/result_service.proto


export interface FetchSecretsRequest {
  'task_id'?: (string);
  'attempt'?: (number);
  'worker_id'?: (string);
  'result_token'?: (string);
}

export interface FetchSecretsRequest__Output {
  'task_id': (string);
  'attempt': (number);
  'worker_id': (string);
  'result_token': (string);
}
