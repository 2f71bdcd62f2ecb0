package taskwire.worker;

import com.google.protobuf.ByteString;
import io.grpc.ClientCall;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayOutputStream;
import java.util.Iterator;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import taskwire.v1.ResultServiceOuterClass.BlobChunk;
import taskwire.v1.ResultServiceOuterClass.FetchBlobRequest;
import taskwire.v1.ResultServiceOuterClass.PutBlobChunk;
import taskwire.v1.ResultServiceOuterClass.PutBlobResponse;

/**
 * FetchBlob / PutBlob of one attempt (PROTOCOL.md section 5.4, docs/IMAGES.md): both stream in
 * pieces of at most 1 MiB, as the master does. Failures are TaskFailures: the transport's
 * (UNAVAILABLE, a deadline) are retryable, a refusal of the blob (not found, not the task's, too
 * big) is BAD_INPUT: another attempt would get the same answer.
 */
final class Blobs {
  static final int CHUNK = 1024 * 1024;

  private Blobs() {}

  /** The whole blob; more than maxBytes (announced or received) stops the call with BAD_INPUT. */
  static byte[] fetch(ResultServiceClient c, FetchBlobRequest req, long maxBytes, java.util.function.Consumer<Runnable> onAbort) throws TaskFailure {
    ClientCall<FetchBlobRequest, BlobChunk> call = c.newFetchBlob();
    // A CANCEL (or the deadline) mid-fetch ends the call instead of waiting for the rest.
    onAbort.accept(() -> call.cancel("attempt stopped", null));
    String name = "input.blob " + req.getBlobId().substring(0, Math.min(12, req.getBlobId().length()));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      Iterator<BlobChunk> it = ClientCalls.blockingServerStreamingCall(call, req);
      boolean first = true;
      while (it.hasNext()) {
        BlobChunk ch = it.next();
        if (first && ch.getSize() > maxBytes) {
          call.cancel("too large", null);
          throw new TaskFailure("BAD_INPUT", name + ": " + ch.getSize() + " bytes, more than " + maxBytes, false);
        }
        first = false;
        if ((long) out.size() + ch.getData().size() > maxBytes) {
          call.cancel("too large", null);
          throw new TaskFailure("BAD_INPUT", name + ": more than " + maxBytes + " bytes", false);
        }
        ch.getData().writeTo(out);
      }
    } catch (StatusRuntimeException e) {
      throw failure("FetchBlob " + name, e.getStatus());
    } catch (java.io.IOException e) {
      throw new TaskFailure("INTERNAL", "FetchBlob " + name + ": " + e.getMessage(), true); // ByteArrayOutputStream: never
    }
    return out.toByteArray();
  }

  /** Stores data, the first message with the attempt's identity; answers the stored blob. */
  static PutBlobResponse put(ResultServiceClient c, PutBlobChunk header, byte[] data) throws TaskFailure {
    CompletableFuture<PutBlobResponse> done = new CompletableFuture<>();
    StreamObserver<PutBlobChunk> req = ClientCalls.asyncClientStreamingCall(c.newPutBlob(), new StreamObserver<PutBlobResponse>() {
      @Override
      public void onNext(PutBlobResponse r) {
        done.complete(r);
      }

      @Override
      public void onError(Throwable t) {
        done.completeExceptionally(t);
      }

      @Override
      public void onCompleted() {
        if (!done.isDone()) done.completeExceptionally(Status.INTERNAL.withDescription("no PutBlobResponse").asRuntimeException());
      }
    });
    try {
      int n = Math.min(CHUNK, data.length);
      req.onNext(header.toBuilder().setData(ByteString.copyFrom(data, 0, n)).build());
      for (int off = n; off < data.length; off += CHUNK) {
        req.onNext(PutBlobChunk.newBuilder().setData(ByteString.copyFrom(data, off, Math.min(CHUNK, data.length - off))).build());
      }
      req.onCompleted();
      return done.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      req.onError(Status.CANCELLED.asRuntimeException());
      throw new TaskFailure("WORKER_SHUTDOWN", "PutBlob interrupted", true);
    } catch (ExecutionException e) {
      throw failure("PutBlob", Status.fromThrowable(e.getCause()));
    } catch (StatusRuntimeException e) {
      throw failure("PutBlob", e.getStatus());
    }
  }

  /** Transport trouble is worth another attempt; the master refusing the blob is not. */
  static TaskFailure failure(String what, Status s) {
    String msg = what + ": " + s.getCode() + (s.getDescription() != null ? ": " + s.getDescription() : "");
    switch (s.getCode()) {
      case NOT_FOUND:
      case INVALID_ARGUMENT:
      case PERMISSION_DENIED:
      case FAILED_PRECONDITION:
      case OUT_OF_RANGE:
      case RESOURCE_EXHAUSTED: // over the master's TASKWIRE_MAX_BLOB_BYTES: so is every retry
        return new TaskFailure("BAD_INPUT", msg, false);
      default:
        return new TaskFailure("INTERNAL", msg, true);
    }
  }
}
