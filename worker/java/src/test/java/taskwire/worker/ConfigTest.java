package taskwire.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

class ConfigTest {
  @Test
  void defaultsAndUsername() throws Exception {
    Config c = Config.fromEnv(Map.of("TASKWIRE_WORKER_ID", "w-1", "TASKWIRE_MQTT_URL", "mqtt://127.0.0.1:1999", "TASKWIRE_CLUSTER_TOKEN", "secret"));
    assertEquals("127.0.0.1", c.mqttHost);
    assertEquals(1999, c.mqttPort);
    assertEquals("w-1", c.mqttUsername);
    assertEquals("secret", c.mqttPassword);
    assertEquals(8, c.capacity);
    assertEquals("taskwire/v1", c.topicRoot);
    assertNull(c.grpcTarget);
    assertEquals(30_000, c.resultRouteIdleMs);
    assertEquals(1000, Config.fromEnv(Map.of("TASKWIRE_WORKER_ID", "w-1", "TASKWIRE_RESULT_ROUTE_IDLE_MS", "1000")).resultRouteIdleMs);
  }

  @Test
  void errorsNameTheVariable() {
    Map<String, String> bad = Map.of("TASKWIRE_WORKER_CAPACITY", "0", "TASKWIRE_MQTT_URL", "http://x", "TASKWIRE_GRPC_URL", "nohost",
        "TASKWIRE_TOPIC_ROOT", "a/#", "TASKWIRE_WORKER_ID", "-bad", "TASKWIRE_RESULT_ROUTE_IDLE_MS", "50", "TASKWIRE_LOG_LEVEL", "loud");
    bad.forEach((variable, value) -> {
      Config.ConfigException e = assertThrows(Config.ConfigException.class, () -> Config.fromEnv(Map.of(variable, value)));
      assertTrue(e.getMessage().startsWith(variable + ": "), e.getMessage());
    });
  }
}
