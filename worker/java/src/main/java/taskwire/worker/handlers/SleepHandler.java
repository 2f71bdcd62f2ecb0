package taskwire.worker.handlers;

import com.google.protobuf.Value;
import java.util.Map;
import taskwire.worker.Aborted;
import taskwire.worker.TaskContext;
import taskwire.worker.TaskFailure;
import taskwire.worker.TaskHandler;
import taskwire.worker.Values;

/** `sleep`: waits `ms`; output `{slept_ms}`. */
public final class SleepHandler implements TaskHandler {
  @Override
  public String kind() {
    return "sleep";
  }

  @Override
  public Value run(TaskContext ctx, Value input) throws TaskFailure, Aborted {
    Map<String, Value> m = Values.object(input, "", "ms");
    if (!m.containsKey("ms")) throw TaskFailure.badInput(".ms: required");
    long ms = Values.integer(m.get("ms"), ".ms", 0, 86_400_000);
    long start = System.nanoTime();
    ctx.waitMs(ms);
    return Values.obj(Map.of("slept_ms", Values.num((System.nanoTime() - start) / 1_000_000)));
  }
}
