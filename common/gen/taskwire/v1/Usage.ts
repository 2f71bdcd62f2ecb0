// Original file: proto/taskwire/v1/result_service.proto


export interface Usage {
  'prompt_tokens'?: (number);
  'completion_tokens'?: (number);
  'total_tokens'?: (number);
  /**
   * Time to first token/chunk in ms, when the task streamed.
   */
  'ttft_ms'?: (number | string);
}

export interface Usage__Output {
  'prompt_tokens': (number);
  'completion_tokens': (number);
  'total_tokens': (number);
  /**
   * Time to first token/chunk in ms, when the task streamed.
   */
  'ttft_ms': (number);
}
