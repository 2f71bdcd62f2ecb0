// Original file: proto/taskwire/v1/worker.proto


/**
 * A model (ONNX) or provider model (LLM) a worker can serve.
 */
export interface ModelInfo {
  /**
   * Task kind this model serves, e.g. "llm", "infer", "ocr".
   */
  'kind'?: (string);
  /**
   * Model name, e.g. "gpt-4o-mini", "ppocr-rec".
   */
  'name'?: (string);
  'versions'?: (string)[];
  'ready'?: (boolean);
  /**
   * LLM provider ("openai", "gemini", "ollama") or empty.
   */
  'provider'?: (string);
  /**
   * ONNX execution provider ("cpu", "cuda") or empty.
   */
  'execution_provider'?: (string);
}

/**
 * A model (ONNX) or provider model (LLM) a worker can serve.
 */
export interface ModelInfo__Output {
  /**
   * Task kind this model serves, e.g. "llm", "infer", "ocr".
   */
  'kind': (string);
  /**
   * Model name, e.g. "gpt-4o-mini", "ppocr-rec".
   */
  'name': (string);
  'versions': (string)[];
  'ready': (boolean);
  /**
   * LLM provider ("openai", "gemini", "ollama") or empty.
   */
  'provider': (string);
  /**
   * ONNX execution provider ("cpu", "cuda") or empty.
   */
  'execution_provider': (string);
}
