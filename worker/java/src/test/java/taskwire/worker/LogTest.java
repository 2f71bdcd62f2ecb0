package taskwire.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import taskwire.v1.ResultServiceOuterClass.TaskError;
import taskwire.v1.ResultServiceOuterClass.TaskOutcome;
import taskwire.v1.ResultServiceOuterClass.TaskResult;
import taskwire.v1.Task.TaskAssignment;

class LogTest {
  private final List<JsonObject> shipped = new ArrayList<>();

  private void shipAt(String level) {
    Log.min = Log.RANKS.get(level);
    Log.ship = payload -> shipped.add(JsonParser.parseString(new String(payload, StandardCharsets.UTF_8)).getAsJsonObject());
  }

  @AfterEach
  void reset() {
    Log.ship = null;
    Log.min = Log.SHIP_RANK;
  }

  @Test
  void shipsOnlyTheLogLineFieldsAtInfoAndAbove() {
    shipAt("debug");
    Log.log("info", "hello", Map.of("task_id", "t-1", "trace_id", "abc"));
    Log.log("debug", "stays on stderr");
    Log.warn("no task");
    assertEquals(2, shipped.size(), shipped.toString());
    JsonObject first = shipped.get(0);
    assertEquals("hello", first.get("msg").getAsString());
    assertEquals("t-1", first.get("task_id").getAsString());
    assertEquals("info", first.get("level").getAsString());
    assertEquals(Log.source, first.get("source").getAsString());
    assertEquals(5, first.size(), "only ts, level, source, msg and task_id travel: " + first);
    assertFalse(shipped.get(1).has("task_id"));
  }

  @Test
  void attemptLinesCarryTheTaskIdAndFollowTheLevel() {
    shipAt("info");
    Value input = Value.newBuilder().setStructValue(Struct.newBuilder().putFields("model", Value.newBuilder().setStringValue("m-1").build())).build();
    TaskAssignment a = TaskAssignment.newBuilder().setTaskId("t-2").setAttempt(2).setKind("llm").setInput(input).setDeadlineMs(1000).build();
    AttemptLog.started(a, "");
    AttemptLog.ended(a, TaskResult.newBuilder().setOutcome(TaskOutcome.TASK_OUTCOME_FAILED)
        .setError(TaskError.newBuilder().setCode("PROVIDER_AUTH").setMessage("key sk-secret refused")).build(), 12, "");
    assertEquals(2, shipped.size(), shipped.toString());
    assertEquals("task started: kind=llm attempt=2 model=m-1", shipped.get(0).get("msg").getAsString());
    assertEquals("task ended: outcome=failed code=PROVIDER_AUTH kind=llm attempt=2 duration_ms=12", shipped.get(1).get("msg").getAsString());
    assertEquals("t-2", shipped.get(1).get("task_id").getAsString());
    Log.min = Log.RANKS.get("warn");
    assertFalse(Log.enabled("info"));
  }

  @Test
  void outcomes() {
    TaskAssignment a = TaskAssignment.newBuilder().setDeadlineMs(1000).build();
    assertEquals("succeeded", AttemptLog.outcome(a, TaskResult.newBuilder().setOutcome(TaskOutcome.TASK_OUTCOME_SUCCEEDED).build()));
    assertEquals("failed", AttemptLog.outcome(a, TaskResult.newBuilder().setOutcome(TaskOutcome.TASK_OUTCOME_FAILED)
        .setError(TaskError.newBuilder().setCode("INTERNAL")).setFinishedAtMs(2000).build()));
    assertEquals("timeout", AttemptLog.outcome(a, TaskResult.newBuilder().setOutcome(TaskOutcome.TASK_OUTCOME_FAILED)
        .setError(TaskError.newBuilder().setCode("DEADLINE_EXCEEDED")).build()));
    assertEquals("cancelled", AttemptLog.outcome(a, TaskResult.newBuilder().setOutcome(TaskOutcome.TASK_OUTCOME_CANCELLED).setFinishedAtMs(999).build()));
    // The master's CANCEL at the run deadline is a timeout.
    assertEquals("timeout", AttemptLog.outcome(a, TaskResult.newBuilder().setOutcome(TaskOutcome.TASK_OUTCOME_CANCELLED).setFinishedAtMs(1000).build()));
  }
}
