package taskwire.worker;

import com.google.protobuf.Value;
import java.util.Map;
import taskwire.v1.ResultServiceOuterClass.TaskOutcome;
import taskwire.v1.ResultServiceOuterClass.TaskResult;
import taskwire.v1.Task.TaskAssignment;

/**
 * One info line when an attempt starts and one when it ends, with its task id (PROTOCOL.md
 * section 13.1): shipped on the log topic (Log), the master keeps them with the task
 * (GET /api/v1/logs?task=ID). Only the message and the task id travel, so what a task's page
 * must show is in the message as key=value words: kind, attempt, model; outcome, error code,
 * duration. None of them can hold a secret (no input, no error message). Nothing is built when
 * info is off (TASKWIRE_LOG_LEVEL=warn).
 */
final class AttemptLog {
  /** A handler's error code is its own string: cut so a line stays a line. */
  static final int MAX_CODE_CHARS = 64;
  private static final Map<String, String> MODEL_FIELDS = Map.of("llm", "model", "embed", "model", "infer", "model_name");

  private AttemptLog() {}

  /** The model a task names, as common/task-kinds.ts reads it (llm and embed: model, infer: model_name), or "". */
  static String modelOf(String kind, Value input) {
    String field = MODEL_FIELDS.get(kind);
    if (field == null || input == null || !input.hasStructValue()) return "";
    Value v = input.getStructValue().getFieldsMap().get(field);
    return v != null && v.hasStringValue() ? v.getStringValue() : "";
  }

  /**
   * succeeded, failed, cancelled or timeout: past its deadline, seen here (DEADLINE_EXCEEDED) or as
   * the master's CANCEL at that same deadline (its run timeout).
   */
  static String outcome(TaskAssignment a, TaskResult r) {
    if (r.getOutcome() == TaskOutcome.TASK_OUTCOME_SUCCEEDED) return "succeeded";
    if (r.getError().getCode().equals("DEADLINE_EXCEEDED")) return "timeout";
    if (r.getOutcome() == TaskOutcome.TASK_OUTCOME_CANCELLED) {
      return a.getDeadlineMs() > 0 && r.getFinishedAtMs() >= a.getDeadlineMs() ? "timeout" : "cancelled";
    }
    return "failed";
  }

  static void started(TaskAssignment a, String traceId) {
    String model = modelOf(a.getKind(), a.hasInput() ? a.getInput() : null);
    Log.log("info", "task started: kind=" + a.getKind() + " attempt=" + a.getAttempt() + (model.isEmpty() ? "" : " model=" + model),
        fields(a, traceId));
  }

  static void ended(TaskAssignment a, TaskResult r, long durationMs, String traceId) {
    String outcome = outcome(a, r);
    String code = "";
    if (!outcome.equals("succeeded")) {
      String c = r.getError().getCode().isEmpty() ? "UNKNOWN" : r.getError().getCode();
      code = " code=" + (c.length() > MAX_CODE_CHARS ? c.substring(0, MAX_CODE_CHARS) : c);
    }
    Log.log("info", "task ended: outcome=" + outcome + code + " kind=" + a.getKind() + " attempt=" + a.getAttempt() + " duration_ms=" + durationMs,
        fields(a, traceId));
  }

  private static Map<String, String> fields(TaskAssignment a, String traceId) {
    return traceId == null ? Map.of("task_id", a.getTaskId()) : Map.of("task_id", a.getTaskId(), "trace_id", traceId);
  }
}
