package taskwire.worker;

import com.google.protobuf.Value;

/**
 * One task kind. run() is called in the attempt's own thread with the decoded
 * input; it streams with ctx.emit(), waits with ctx.waitMs() (which throws
 * Aborted on CANCEL, deadline or shutdown) and returns the output, or throws
 * TaskFailure (TaskFailure.badInput for BAD_INPUT).
 */
public interface TaskHandler {
  String kind();

  /**
   * What it supports within its kind, as `<kind>:<feature>` (WorkerStatus.features, e.g.
   * `image:op:resize`); none: taken to support all of the kind.
   */
  default java.util.List<String> features() {
    return java.util.List.of();
  }

  Value run(TaskContext ctx, Value input) throws TaskFailure, Aborted, InterruptedException;
}
