package taskwire.worker;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import taskwire.v1.ResultServiceOuterClass.Disposition;
import taskwire.v1.ResultServiceOuterClass.SubmitResultResponse;
import taskwire.v1.ResultServiceOuterClass.TaskResult;

/**
 * Results over gRPC (PROTOCOL.md section 8). Each attempt streams on its own
 * StreamResults call (AttemptStream); an unconfirmed final is re-sent with
 * SubmitResult (backoff 100 ms doubling to 5 s) until any answer, and again to
 * a new target when the master moves.
 */
public final class Reporter {
  private volatile ResultServiceClient client;
  private volatile boolean closed;
  final Map<String, TaskResult> unconfirmed = new ConcurrentHashMap<>();

  static String key(String taskId, int attempt) {
    return taskId + "#" + attempt;
  }

  synchronized void setTarget(String target) {
    if (closed || (client != null && client.target.equals(target))) return;
    ResultServiceClient old = client;
    client = new ResultServiceClient(target);
    Log.info("result service target set: " + target);
    if (old != null) old.close();
    List<TaskResult> pending = new ArrayList<>(unconfirmed.values());
    for (TaskResult r : pending) {
      Reporter.spawn("deliver", () -> deliver(r, System.currentTimeMillis() + 86_400_000L));
    }
  }

  /** The client, waiting up to waitMs for a target (null if none). */
  ResultServiceClient current(long waitMs) {
    long until = System.currentTimeMillis() + waitMs;
    while (true) {
      ResultServiceClient c = client;
      if (c != null || closed || System.currentTimeMillis() >= until) return c;
      sleep(20);
    }
  }

  private boolean pending(String k) {
    return unconfirmed.containsKey(k) && !closed;
  }

  void confirm(String k) {
    unconfirmed.remove(k);
  }

  /** Re-sends a final with SubmitResult until the master answers (any disposition). */
  void deliver(TaskResult res, long giveUpAtMs) {
    String k = key(res.getTaskId(), res.getAttempt());
    long backoff = 100;
    while (pending(k)) {
      ResultServiceClient c = current(1000);
      if (c != null) {
        try {
          SubmitResultResponse resp = c.submitResult(res);
          confirm(k);
          if (resp.getDisposition() == Disposition.DISPOSITION_REJECTED) Log.info("final result rejected: " + resp.getReason());
          return;
        } catch (StatusRuntimeException e) {
          if (e.getStatus().getCode() == Status.Code.INVALID_ARGUMENT) {
            confirm(k);
            return;
          }
        }
      }
      if (System.currentTimeMillis() > giveUpAtMs) return;
      sleep(backoff);
      backoff = Math.min(backoff * 2, 5000);
    }
  }

  boolean waitConfirmed(long ms) {
    long until = System.currentTimeMillis() + ms;
    while (!unconfirmed.isEmpty()) {
      if (System.currentTimeMillis() > until) return false;
      sleep(20);
    }
    return true;
  }

  synchronized void close() {
    closed = true;
    if (client != null) client.close();
    client = null;
  }

  /** A daemon thread (the JVM's exit does not wait for it). */
  static Thread spawn(String name, Runnable r) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    t.start();
    return t;
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
