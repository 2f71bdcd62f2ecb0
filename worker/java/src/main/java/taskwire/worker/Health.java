package taskwire.worker;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The container health file (TASKWIRE_HEALTH_FILE, rewritten every 5 s) and
 * its check: `java -cp taskwire-worker.jar taskwire.worker.Health [FILE]`
 * exits 0 when the file is fresh and says MQTT is connected (same format as
 * the Python worker's).
 */
public final class Health {
  static final long MAX_AGE_MS = 20_000;

  private Health() {}

  static void write(String path, String workerId, String state, boolean mqtt, int running) {
    if (path == null || path.isEmpty()) return;
    JsonObject o = new JsonObject();
    o.addProperty("worker_id", workerId);
    o.addProperty("state", state);
    o.addProperty("mqtt", mqtt);
    o.addProperty("running", running);
    o.addProperty("ts_ms", System.currentTimeMillis());
    try {
      Path tmp = Path.of(path + ".tmp");
      Files.writeString(tmp, o.toString());
      Files.move(tmp, Path.of(path), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (Exception e) {
      // best effort: the check reports a stale file
    }
  }

  public static void main(String[] args) {
    String path = args.length > 0 ? args[0] : System.getenv().getOrDefault("TASKWIRE_HEALTH_FILE", "");
    if (path.isEmpty()) {
      System.err.println("unhealthy: no health file (TASKWIRE_HEALTH_FILE)");
      System.exit(1);
    }
    try {
      JsonObject body = JsonParser.parseString(Files.readString(Path.of(path))).getAsJsonObject();
      long age = System.currentTimeMillis() - body.get("ts_ms").getAsLong();
      if (age > MAX_AGE_MS) {
        System.err.println("unhealthy: health file is " + age / 1000 + " s old");
        System.exit(1);
      }
      if (!body.get("mqtt").getAsBoolean()) {
        System.err.println("unhealthy: not connected to the broker");
        System.exit(1);
      }
      System.out.println("ok: worker " + body.get("state").getAsString());
    } catch (Exception e) {
      System.err.println("unhealthy: " + e);
      System.exit(1);
    }
  }
}
