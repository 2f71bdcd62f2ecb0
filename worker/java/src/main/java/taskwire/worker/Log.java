package taskwire.worker;

import com.google.gson.JsonObject;
import java.time.Instant;

/** One JSON log line per event on stderr. */
public final class Log {
  static volatile String source = "worker";

  private Log() {}

  public static void log(String level, String msg) {
    log(level, msg, java.util.Map.of());
  }

  /** A line with fields of its own (an attempt's task_id and trace_id; empty values left out). */
  public static void log(String level, String msg, java.util.Map<String, String> fields) {
    JsonObject o = new JsonObject();
    o.addProperty("ts", Instant.now().toString());
    o.addProperty("level", level);
    o.addProperty("source", source);
    o.addProperty("msg", msg);
    fields.forEach((k, v) -> {
      if (v != null && !v.isEmpty()) o.addProperty(k, v);
    });
    System.err.println(o);
  }

  public static void info(String msg) {
    log("info", msg);
  }

  public static void warn(String msg) {
    log("warn", msg);
  }
}
