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

  Value run(TaskContext ctx, Value input) throws TaskFailure, Aborted, InterruptedException;
}
