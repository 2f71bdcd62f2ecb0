package taskwire.worker;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.MethodDescriptor;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.TimeUnit;
import taskwire.v1.ResultServiceOuterClass.BlobChunk;
import taskwire.v1.ResultServiceOuterClass.FetchBlobRequest;
import taskwire.v1.ResultServiceOuterClass.FetchSecretsRequest;
import taskwire.v1.ResultServiceOuterClass.FetchSecretsResponse;
import taskwire.v1.ResultServiceOuterClass.PutBlobChunk;
import taskwire.v1.ResultServiceOuterClass.PutBlobResponse;
import taskwire.v1.ResultServiceOuterClass.ResultBatch;
import taskwire.v1.ResultServiceOuterClass.StreamResultsResponse;
import taskwire.v1.ResultServiceOuterClass.SubmitResultResponse;
import taskwire.v1.ResultServiceOuterClass.TaskResult;

/**
 * The worker's side of taskwire.v1.ResultService over one channel. The method
 * descriptors are what protoc-gen-grpc-java would generate (full method names
 * from result_service.proto, protobuf marshallers of the generated messages).
 */
public final class ResultServiceClient {
  static final String SERVICE = "taskwire.v1.ResultService";

  static final MethodDescriptor<TaskResult, SubmitResultResponse> SUBMIT_RESULT =
      MethodDescriptor.<TaskResult, SubmitResultResponse>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "SubmitResult"))
          .setRequestMarshaller(ProtoUtils.marshaller(TaskResult.getDefaultInstance()))
          .setResponseMarshaller(ProtoUtils.marshaller(SubmitResultResponse.getDefaultInstance()))
          .build();

  static final MethodDescriptor<ResultBatch, StreamResultsResponse> STREAM_RESULTS =
      MethodDescriptor.<ResultBatch, StreamResultsResponse>newBuilder()
          .setType(MethodDescriptor.MethodType.CLIENT_STREAMING)
          .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "StreamResults"))
          .setRequestMarshaller(ProtoUtils.marshaller(ResultBatch.getDefaultInstance()))
          .setResponseMarshaller(ProtoUtils.marshaller(StreamResultsResponse.getDefaultInstance()))
          .build();

  static final MethodDescriptor<FetchSecretsRequest, FetchSecretsResponse> FETCH_SECRETS =
      MethodDescriptor.<FetchSecretsRequest, FetchSecretsResponse>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "FetchSecrets"))
          .setRequestMarshaller(ProtoUtils.marshaller(FetchSecretsRequest.getDefaultInstance()))
          .setResponseMarshaller(ProtoUtils.marshaller(FetchSecretsResponse.getDefaultInstance()))
          .build();

  static final MethodDescriptor<FetchBlobRequest, BlobChunk> FETCH_BLOB =
      MethodDescriptor.<FetchBlobRequest, BlobChunk>newBuilder()
          .setType(MethodDescriptor.MethodType.SERVER_STREAMING)
          .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "FetchBlob"))
          .setRequestMarshaller(ProtoUtils.marshaller(FetchBlobRequest.getDefaultInstance()))
          .setResponseMarshaller(ProtoUtils.marshaller(BlobChunk.getDefaultInstance()))
          .build();

  static final MethodDescriptor<PutBlobChunk, PutBlobResponse> PUT_BLOB =
      MethodDescriptor.<PutBlobChunk, PutBlobResponse>newBuilder()
          .setType(MethodDescriptor.MethodType.CLIENT_STREAMING)
          .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "PutBlob"))
          .setRequestMarshaller(ProtoUtils.marshaller(PutBlobChunk.getDefaultInstance()))
          .setResponseMarshaller(ProtoUtils.marshaller(PutBlobResponse.getDefaultInstance()))
          .build();

  /** Bound of one blob call (a 50 MB image over a slow link). */
  static final long BLOB_DEADLINE_S = 120;

  final String target;
  private final ManagedChannel channel;

  ResultServiceClient(String target) {
    this.target = target;
    this.channel = ManagedChannelBuilder.forTarget(target).usePlaintext()
        .keepAliveTime(10, TimeUnit.SECONDS).keepAliveTimeout(5, TimeUnit.SECONDS).keepAliveWithoutCalls(true).build();
  }

  SubmitResultResponse submitResult(TaskResult r) {
    return ClientCalls.blockingUnaryCall(channel, SUBMIT_RESULT, CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), r);
  }

  FetchSecretsResponse fetchSecrets(FetchSecretsRequest r) {
    return ClientCalls.blockingUnaryCall(channel, FETCH_SECRETS, CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), r);
  }

  StreamObserver<ResultBatch> streamResults(StreamObserver<StreamResultsResponse> responses) {
    return ClientCalls.asyncClientStreamingCall(channel.newCall(STREAM_RESULTS, CallOptions.DEFAULT), responses);
  }

  /** A FetchBlob call, not started: the caller can cancel it (Blobs.fetch). */
  io.grpc.ClientCall<FetchBlobRequest, BlobChunk> newFetchBlob() {
    return channel.newCall(FETCH_BLOB, CallOptions.DEFAULT.withDeadlineAfter(BLOB_DEADLINE_S, TimeUnit.SECONDS));
  }

  /** A PutBlob call, not started (Blobs.put). */
  io.grpc.ClientCall<PutBlobChunk, PutBlobResponse> newPutBlob() {
    return channel.newCall(PUT_BLOB, CallOptions.DEFAULT.withDeadlineAfter(BLOB_DEADLINE_S, TimeUnit.SECONDS));
  }

  void close() {
    channel.shutdownNow();
  }
}
