// Original file: proto/taskwire/v1/worker.proto

import type { Long } from '@grpc/proto-loader';

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
  /**
   * Not ready because its provider cools down after repeated failures: when
   * that ends (Unix ms), so clients can be told when to retry. 0 otherwise.
   */
  'cooldown_until_ms'?: (number | string | Long);
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
  /**
   * Not ready because its provider cools down after repeated failures: when
   * that ends (Unix ms), so clients can be told when to retry. 0 otherwise.
   */
  'cooldown_until_ms': (number);
}
