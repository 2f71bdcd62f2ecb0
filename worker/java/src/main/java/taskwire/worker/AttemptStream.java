package taskwire.worker;

import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import taskwire.v1.ResultServiceOuterClass.ResultBatch;
import taskwire.v1.ResultServiceOuterClass.ResultEvent;
import taskwire.v1.ResultServiceOuterClass.StreamResultsResponse;
import taskwire.v1.ResultServiceOuterClass.TaskResult;

/**
 * The StreamResults call(s) of one attempt (PROTOCOL.md section 8.4): events
 * in order; half-closing and receiving the response confirms the final. A
 * broken stream is replaced for later events; events sent while no target is
 * known go with the next one.
 */
final class AttemptStream {
  private final Reporter reporter;
  private StreamObserver<ResultBatch> requests;
  private CompletableFuture<StreamResultsResponse> response;
  private final List<ResultEvent> pending = new ArrayList<>();

  AttemptStream(Reporter reporter) {
    this.reporter = reporter;
  }

  synchronized void send(ResultEvent ev) {
    pending.add(ev);
    if (requests == null || response.isDone()) {
      ResultServiceClient c = reporter.current(0);
      if (c == null) return;
      CompletableFuture<StreamResultsResponse> done = new CompletableFuture<>();
      try {
        requests = c.streamResults(new StreamObserver<>() {
          @Override
          public void onNext(StreamResultsResponse r) {
            done.complete(r);
          }

          @Override
          public void onError(Throwable t) {
            done.completeExceptionally(t);
          }

          @Override
          public void onCompleted() {
            done.complete(StreamResultsResponse.getDefaultInstance());
          }
        });
        response = done;
      } catch (RuntimeException e) {
        requests = null;
        return;
      }
    }
    try {
      requests.onNext(ResultBatch.newBuilder().addAllEvents(pending).build());
    } catch (RuntimeException e) {
      requests = null; // broken: the next event opens a new stream
    }
    pending.clear();
  }

  /** Sends the final, half-closes and waits for the confirmation, else SubmitResult. */
  void finish(ResultEvent fin, TaskResult res, long giveUpAtMs) {
    String k = Reporter.key(res.getTaskId(), res.getAttempt());
    reporter.unconfirmed.put(k, res);
    send(fin);
    StreamObserver<ResultBatch> req;
    CompletableFuture<StreamResultsResponse> resp;
    synchronized (this) {
      req = requests;
      resp = response;
      requests = null;
    }
    if (req != null && !resp.isCompletedExceptionally()) {
      try {
        req.onCompleted();
        resp.get(10, TimeUnit.SECONDS);
        reporter.confirm(k);
        return;
      } catch (Exception e) {
        try {
          req.onError(io.grpc.Status.CANCELLED.withDescription("replaced by SubmitResult").asRuntimeException());
        } catch (RuntimeException ignored) {
          // already closed
        }
      }
    }
    reporter.deliver(res, giveUpAtMs);
  }
}
