package taskwire.worker;

import com.google.gson.JsonObject;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Log lines (PROTOCOL.md section 13.1): one JSON line each on stderr and, once the worker is
 * connected, a LogLine on {root}/logs/{worker id} (QoS 0, info and above), as the TypeScript,
 * Python and Go workers do, so the master keeps them (GET /api/v1/logs). TASKWIRE_LOG_LEVEL
 * (default info) drops what is below it, on both. Only ts, level, source, msg and task_id travel
 * on MQTT, never the other fields of a line.
 */
public final class Log {
  static volatile String source = "worker";
  /** The levels of TASKWIRE_LOG_LEVEL, pino's numbers. */
  static final Map<String, Integer> RANKS = Map.of("trace", 10, "debug", 20, "info", 30, "warn", 40, "error", 50, "fatal", 60, "silent", 70);
  /** Lines below info stay on stderr (the TypeScript worker's rule). */
  static final int SHIP_RANK = 30;
  /** The master keeps 8 KiB of a message; a LogLine payload is at most 64 KiB (section 14). */
  static final int MAX_SHIPPED_MSG = 8192;
  /** The lowest rank written (TASKWIRE_LOG_LEVEL). */
  static volatile int min = SHIP_RANK;
  /** Publishes one LogLine payload on the worker's log topic; null before connect and after close. */
  static volatile Consumer<byte[]> ship;

  private Log() {}

  static int rank(String level) {
    return RANKS.getOrDefault(level, SHIP_RANK);
  }

  /** Whether a line at level is written at all (so callers build nothing otherwise). */
  public static boolean enabled(String level) {
    return rank(level) >= min;
  }

  public static void log(String level, String msg) {
    log(level, msg, Map.of());
  }

  /** A line with fields of its own (an attempt's task_id and trace_id; empty values left out). */
  public static void log(String level, String msg, Map<String, String> fields) {
    if (!enabled(level)) return;
    String ts = Instant.now().toString();
    JsonObject o = new JsonObject();
    o.addProperty("ts", ts);
    o.addProperty("level", level);
    o.addProperty("source", source);
    o.addProperty("msg", msg);
    fields.forEach((k, v) -> {
      if (v != null && !v.isEmpty()) o.addProperty(k, v);
    });
    System.err.println(o);
    Consumer<byte[]> s = ship;
    if (s != null && rank(level) >= SHIP_RANK) {
      try {
        s.accept(shippedLine(ts, level, msg, fields.get("task_id")));
      } catch (RuntimeException e) {
        // a line that cannot be shipped is still on stderr (and logging never logs about itself)
      }
    }
  }

  /** The LogLine JSON of one line (proto3 JSON, an empty task_id left out). */
  static byte[] shippedLine(String ts, String level, String msg, String taskId) {
    JsonObject o = new JsonObject();
    o.addProperty("ts", ts);
    o.addProperty("level", level);
    o.addProperty("source", source);
    if (msg.length() > MAX_SHIPPED_MSG) {
      int end = MAX_SHIPPED_MSG;
      if (Character.isHighSurrogate(msg.charAt(end - 1))) end--; // never half a character
      msg = msg.substring(0, end);
    }
    o.addProperty("msg", msg);
    if (taskId != null && !taskId.isEmpty()) o.addProperty("task_id", taskId);
    return o.toString().getBytes(StandardCharsets.UTF_8);
  }

  public static void info(String msg) {
    log("info", msg);
  }

  public static void warn(String msg) {
    log("warn", msg);
  }
}
