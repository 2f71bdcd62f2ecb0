// Original file: proto/taskwire/v1/result_service.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { BlobChunk as _taskwire_v1_BlobChunk, BlobChunk__Output as _taskwire_v1_BlobChunk__Output } from '../../taskwire/v1/BlobChunk.js';
import type { FetchBlobRequest as _taskwire_v1_FetchBlobRequest, FetchBlobRequest__Output as _taskwire_v1_FetchBlobRequest__Output } from '../../taskwire/v1/FetchBlobRequest.js';
import type { FetchSecretsRequest as _taskwire_v1_FetchSecretsRequest, FetchSecretsRequest__Output as _taskwire_v1_FetchSecretsRequest__Output } from '../../taskwire/v1/FetchSecretsRequest.js';
import type { FetchSecretsResponse as _taskwire_v1_FetchSecretsResponse, FetchSecretsResponse__Output as _taskwire_v1_FetchSecretsResponse__Output } from '../../taskwire/v1/FetchSecretsResponse.js';
import type { PutBlobChunk as _taskwire_v1_PutBlobChunk, PutBlobChunk__Output as _taskwire_v1_PutBlobChunk__Output } from '../../taskwire/v1/PutBlobChunk.js';
import type { PutBlobResponse as _taskwire_v1_PutBlobResponse, PutBlobResponse__Output as _taskwire_v1_PutBlobResponse__Output } from '../../taskwire/v1/PutBlobResponse.js';
import type { ResultBatch as _taskwire_v1_ResultBatch, ResultBatch__Output as _taskwire_v1_ResultBatch__Output } from '../../taskwire/v1/ResultBatch.js';
import type { StreamResultsResponse as _taskwire_v1_StreamResultsResponse, StreamResultsResponse__Output as _taskwire_v1_StreamResultsResponse__Output } from '../../taskwire/v1/StreamResultsResponse.js';
import type { SubmitResultResponse as _taskwire_v1_SubmitResultResponse, SubmitResultResponse__Output as _taskwire_v1_SubmitResultResponse__Output } from '../../taskwire/v1/SubmitResultResponse.js';
import type { TaskResult as _taskwire_v1_TaskResult, TaskResult__Output as _taskwire_v1_TaskResult__Output } from '../../taskwire/v1/TaskResult.js';

export interface ResultServiceClient extends grpc.Client {
  /**
   * Blobs (added in v1 as a compatible extension): content-addressed bytes
   * (images) kept off MQTT. Both calls need the result token of an attempt
   * that is not finished. FetchBlob streams a blob the task's input names, in
   * chunks; the first chunk carries content_type and size.
   */
  FetchBlob(argument: _taskwire_v1_FetchBlobRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_taskwire_v1_BlobChunk__Output>;
  FetchBlob(argument: _taskwire_v1_FetchBlobRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_taskwire_v1_BlobChunk__Output>;
  /**
   * Blobs (added in v1 as a compatible extension): content-addressed bytes
   * (images) kept off MQTT. Both calls need the result token of an attempt
   * that is not finished. FetchBlob streams a blob the task's input names, in
   * chunks; the first chunk carries content_type and size.
   */
  fetchBlob(argument: _taskwire_v1_FetchBlobRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_taskwire_v1_BlobChunk__Output>;
  fetchBlob(argument: _taskwire_v1_FetchBlobRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_taskwire_v1_BlobChunk__Output>;
  
  /**
   * Secrets an assignment names in `secret_names` (e.g. a user's API key),
   * released only to the attempt holding a valid result token.
   */
  FetchSecrets(argument: _taskwire_v1_FetchSecretsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_taskwire_v1_FetchSecretsResponse__Output>): grpc.ClientUnaryCall;
  FetchSecrets(argument: _taskwire_v1_FetchSecretsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_taskwire_v1_FetchSecretsResponse__Output>): grpc.ClientUnaryCall;
  FetchSecrets(argument: _taskwire_v1_FetchSecretsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_taskwire_v1_FetchSecretsResponse__Output>): grpc.ClientUnaryCall;
  FetchSecrets(argument: _taskwire_v1_FetchSecretsRequest, callback: grpc.requestCallback<_taskwire_v1_FetchSecretsResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Secrets an assignment names in `secret_names` (e.g. a user's API key),
   * released only to the attempt holding a valid result token.
   */
  fetchSecrets(argument: _taskwire_v1_FetchSecretsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_taskwire_v1_FetchSecretsResponse__Output>): grpc.ClientUnaryCall;
  fetchSecrets(argument: _taskwire_v1_FetchSecretsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_taskwire_v1_FetchSecretsResponse__Output>): grpc.ClientUnaryCall;
  fetchSecrets(argument: _taskwire_v1_FetchSecretsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_taskwire_v1_FetchSecretsResponse__Output>): grpc.ClientUnaryCall;
  fetchSecrets(argument: _taskwire_v1_FetchSecretsRequest, callback: grpc.requestCallback<_taskwire_v1_FetchSecretsResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Stores a blob: the first message carries the attempt's identity and the
   * content type, every message a piece of data. Answers the blob id (sha256
   * of the bytes, hex); storing the same bytes twice is a no-op.
   */
  PutBlob(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_taskwire_v1_PutBlobResponse__Output>): grpc.ClientWritableStream<_taskwire_v1_PutBlobChunk>;
  PutBlob(metadata: grpc.Metadata, callback: grpc.requestCallback<_taskwire_v1_PutBlobResponse__Output>): grpc.ClientWritableStream<_taskwire_v1_PutBlobChunk>;
  PutBlob(options: grpc.CallOptions, callback: grpc.requestCallback<_taskwire_v1_PutBlobResponse__Output>): grpc.ClientWritableStream<_taskwire_v1_PutBlobChunk>;
  PutBlob(callback: grpc.requestCallback<_taskwire_v1_PutBlobResponse__Output>): grpc.ClientWritableStream<_taskwire_v1_PutBlobChunk>;
  /**
   * Stores a blob: the first message carries the attempt's identity and the
   * content type, every message a piece of data. Answers the blob id (sha256
   * of the bytes, hex); storing the same bytes twice is a no-op.
   */
  putBlob(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_taskwire_v1_PutBlobResponse__Output>): grpc.ClientWritableStream<_taskwire_v1_PutBlobChunk>;
  putBlob(metadata: grpc.Metadata, callback: grpc.requestCallback<_taskwire_v1_PutBlobResponse__Output>): grpc.ClientWritableStream<_taskwire_v1_PutBlobChunk>;
  putBlob(options: grpc.CallOptions, callback: grpc.requestCallback<_taskwire_v1_PutBlobResponse__Output>): grpc.ClientWritableStream<_taskwire_v1_PutBlobChunk>;
  putBlob(callback: grpc.requestCallback<_taskwire_v1_PutBlobResponse__Output>): grpc.ClientWritableStream<_taskwire_v1_PutBlobChunk>;
  
  /**
   * Long-lived stream of result events (started, chunks, heartbeats, finals)
   * for many tasks. Events of one attempt carry increasing `seq`.
   */
  StreamResults(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_taskwire_v1_StreamResultsResponse__Output>): grpc.ClientWritableStream<_taskwire_v1_ResultBatch>;
  StreamResults(metadata: grpc.Metadata, callback: grpc.requestCallback<_taskwire_v1_StreamResultsResponse__Output>): grpc.ClientWritableStream<_taskwire_v1_ResultBatch>;
  StreamResults(options: grpc.CallOptions, callback: grpc.requestCallback<_taskwire_v1_StreamResultsResponse__Output>): grpc.ClientWritableStream<_taskwire_v1_ResultBatch>;
  StreamResults(callback: grpc.requestCallback<_taskwire_v1_StreamResultsResponse__Output>): grpc.ClientWritableStream<_taskwire_v1_ResultBatch>;
  /**
   * Long-lived stream of result events (started, chunks, heartbeats, finals)
   * for many tasks. Events of one attempt carry increasing `seq`.
   */
  streamResults(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_taskwire_v1_StreamResultsResponse__Output>): grpc.ClientWritableStream<_taskwire_v1_ResultBatch>;
  streamResults(metadata: grpc.Metadata, callback: grpc.requestCallback<_taskwire_v1_StreamResultsResponse__Output>): grpc.ClientWritableStream<_taskwire_v1_ResultBatch>;
  streamResults(options: grpc.CallOptions, callback: grpc.requestCallback<_taskwire_v1_StreamResultsResponse__Output>): grpc.ClientWritableStream<_taskwire_v1_ResultBatch>;
  streamResults(callback: grpc.requestCallback<_taskwire_v1_StreamResultsResponse__Output>): grpc.ClientWritableStream<_taskwire_v1_ResultBatch>;
  
  /**
   * The final result of one attempt. Idempotent: re-sending an accepted
   * result answers DUPLICATE, so a worker may retry after a broken stream.
   */
  SubmitResult(argument: _taskwire_v1_TaskResult, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_taskwire_v1_SubmitResultResponse__Output>): grpc.ClientUnaryCall;
  SubmitResult(argument: _taskwire_v1_TaskResult, metadata: grpc.Metadata, callback: grpc.requestCallback<_taskwire_v1_SubmitResultResponse__Output>): grpc.ClientUnaryCall;
  SubmitResult(argument: _taskwire_v1_TaskResult, options: grpc.CallOptions, callback: grpc.requestCallback<_taskwire_v1_SubmitResultResponse__Output>): grpc.ClientUnaryCall;
  SubmitResult(argument: _taskwire_v1_TaskResult, callback: grpc.requestCallback<_taskwire_v1_SubmitResultResponse__Output>): grpc.ClientUnaryCall;
  /**
   * The final result of one attempt. Idempotent: re-sending an accepted
   * result answers DUPLICATE, so a worker may retry after a broken stream.
   */
  submitResult(argument: _taskwire_v1_TaskResult, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_taskwire_v1_SubmitResultResponse__Output>): grpc.ClientUnaryCall;
  submitResult(argument: _taskwire_v1_TaskResult, metadata: grpc.Metadata, callback: grpc.requestCallback<_taskwire_v1_SubmitResultResponse__Output>): grpc.ClientUnaryCall;
  submitResult(argument: _taskwire_v1_TaskResult, options: grpc.CallOptions, callback: grpc.requestCallback<_taskwire_v1_SubmitResultResponse__Output>): grpc.ClientUnaryCall;
  submitResult(argument: _taskwire_v1_TaskResult, callback: grpc.requestCallback<_taskwire_v1_SubmitResultResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface ResultServiceHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Blobs (added in v1 as a compatible extension): content-addressed bytes
   * (images) kept off MQTT. Both calls need the result token of an attempt
   * that is not finished. FetchBlob streams a blob the task's input names, in
   * chunks; the first chunk carries content_type and size.
   */
  FetchBlob: grpc.handleServerStreamingCall<_taskwire_v1_FetchBlobRequest__Output, _taskwire_v1_BlobChunk>;
  
  /**
   * Secrets an assignment names in `secret_names` (e.g. a user's API key),
   * released only to the attempt holding a valid result token.
   */
  FetchSecrets: grpc.handleUnaryCall<_taskwire_v1_FetchSecretsRequest__Output, _taskwire_v1_FetchSecretsResponse>;
  
  /**
   * Stores a blob: the first message carries the attempt's identity and the
   * content type, every message a piece of data. Answers the blob id (sha256
   * of the bytes, hex); storing the same bytes twice is a no-op.
   */
  PutBlob: grpc.handleClientStreamingCall<_taskwire_v1_PutBlobChunk__Output, _taskwire_v1_PutBlobResponse>;
  
  /**
   * Long-lived stream of result events (started, chunks, heartbeats, finals)
   * for many tasks. Events of one attempt carry increasing `seq`.
   */
  StreamResults: grpc.handleClientStreamingCall<_taskwire_v1_ResultBatch__Output, _taskwire_v1_StreamResultsResponse>;
  
  /**
   * The final result of one attempt. Idempotent: re-sending an accepted
   * result answers DUPLICATE, so a worker may retry after a broken stream.
   */
  SubmitResult: grpc.handleUnaryCall<_taskwire_v1_TaskResult__Output, _taskwire_v1_SubmitResultResponse>;
  
}

export interface ResultServiceDefinition extends grpc.ServiceDefinition {
  FetchBlob: MethodDefinition<_taskwire_v1_FetchBlobRequest, _taskwire_v1_BlobChunk, _taskwire_v1_FetchBlobRequest__Output, _taskwire_v1_BlobChunk__Output>
  FetchSecrets: MethodDefinition<_taskwire_v1_FetchSecretsRequest, _taskwire_v1_FetchSecretsResponse, _taskwire_v1_FetchSecretsRequest__Output, _taskwire_v1_FetchSecretsResponse__Output>
  PutBlob: MethodDefinition<_taskwire_v1_PutBlobChunk, _taskwire_v1_PutBlobResponse, _taskwire_v1_PutBlobChunk__Output, _taskwire_v1_PutBlobResponse__Output>
  StreamResults: MethodDefinition<_taskwire_v1_ResultBatch, _taskwire_v1_StreamResultsResponse, _taskwire_v1_ResultBatch__Output, _taskwire_v1_StreamResultsResponse__Output>
  SubmitResult: MethodDefinition<_taskwire_v1_TaskResult, _taskwire_v1_SubmitResultResponse, _taskwire_v1_TaskResult__Output, _taskwire_v1_SubmitResultResponse__Output>
}
