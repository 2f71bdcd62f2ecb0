// Original file: proto/taskwire/v1/result_service.proto

import type { Value as _google_protobuf_Value, Value__Output as _google_protobuf_Value__Output } from '../../google/protobuf/Value.js';

/**
 * A piece of streamed output.
 */
export interface ResultChunk {
  /**
   * Text delta (tokens, words).
   */
  'text'?: (string);
  /**
   * Structured partial output, if any.
   */
  'data'?: (_google_protobuf_Value | null);
}

/**
 * A piece of streamed output.
 */
export interface ResultChunk__Output {
  /**
   * Text delta (tokens, words).
   */
  'text': (string);
  /**
   * Structured partial output, if any.
   */
  'data': (_google_protobuf_Value__Output | null);
}
