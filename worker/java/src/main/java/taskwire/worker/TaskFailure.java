package taskwire.worker;

/** A failed attempt: TASK_OUTCOME_FAILED with this TaskError code. */
public class TaskFailure extends Exception {
  public final String code;
  public final boolean retryable;

  public TaskFailure(String code, String message, boolean retryable) {
    super(message);
    this.code = code;
    this.retryable = retryable;
  }

  public static TaskFailure badInput(String path) {
    return new TaskFailure("BAD_INPUT", "input" + path, false);
  }
}
