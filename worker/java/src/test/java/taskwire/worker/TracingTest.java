package taskwire.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The run and provider call spans as posted to a real OTLP/HTTP receiver on 127.0.0.1:0. */
class TracingTest {
  private static final String TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
  private static final String PARENT = "00f067aa0ba902b7";
  private HttpServer receiver;

  @AfterEach
  void stop() {
    Tracing.configure(null, "", "");
    if (receiver != null) receiver.stop(0);
  }

  private static Map<String, String> attrs(JsonObject span) {
    Map<String, String> m = new HashMap<>();
    for (JsonElement a : span.getAsJsonArray("attributes")) {
      JsonObject v = a.getAsJsonObject().getAsJsonObject("value");
      m.put(a.getAsJsonObject().get("key").getAsString(), v.entrySet().iterator().next().getValue().getAsString());
    }
    return m;
  }

  @Test
  void providerCallsAreClientSpansUnderTheRunSpan() throws Exception {
    List<JsonObject> spans = new ArrayList<>();
    receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    receiver.createContext("/v1/traces", ex -> {
      JsonObject body = JsonParser.parseString(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8)).getAsJsonObject();
      synchronized (spans) {
        for (JsonElement rs : body.getAsJsonArray("resourceSpans")) {
          for (JsonElement ss : rs.getAsJsonObject().getAsJsonArray("scopeSpans")) {
            for (JsonElement s : ss.getAsJsonObject().getAsJsonArray("spans")) spans.add(s.getAsJsonObject());
          }
        }
      }
      ex.sendResponseHeaders(200, -1);
      ex.close();
    });
    receiver.start();
    Tracing.configure("http://127.0.0.1:" + receiver.getAddress().getPort() + "/v1/traces", "svc", "w1");
    String okHeader;
    try (Tracing.AttemptTrace run = new Tracing.AttemptTrace("00-" + TRACE + "-" + PARENT + "-01", Map.of("taskwire.task_id", "t1"))) {
      Tracing.ProviderCall ok = Tracing.providerCall("openai", "m1");
      okHeader = ok.traceparent();
      ok.firstToken();
      ok.end(null, 5, 7);
      ok.end("LATE", 1, 1); // once only
      Tracing.ProviderCall bad = Tracing.providerCall("openai", "m1");
      bad.end("PROVIDER_AUTH", -1, -1);
      run.end("failed", "PROVIDER_AUTH");
    }
    Tracing.shutdown(); // sends what is queued
    assertEquals(3, spans.size(), spans.toString());
    JsonObject run = spans.stream().filter(s -> s.get("name").getAsString().equals("taskwire.worker.run")).findFirst().orElseThrow();
    assertEquals(PARENT, run.get("parentSpanId").getAsString());
    assertEquals(2, run.getAsJsonObject("status").get("code").getAsInt());
    List<JsonObject> calls = spans.stream().filter(s -> s.get("name").getAsString().equals("taskwire.provider.call")).toList();
    assertEquals(2, calls.size());
    for (JsonObject c : calls) {
      assertEquals(TRACE, c.get("traceId").getAsString());
      assertEquals(run.get("spanId").getAsString(), c.get("parentSpanId").getAsString());
      assertNotEquals(run.get("spanId").getAsString(), c.get("spanId").getAsString());
      assertEquals(3, c.get("kind").getAsInt()); // CLIENT
      assertEquals("openai", attrs(c).get("gen_ai.system"));
      assertEquals("m1", attrs(c).get("gen_ai.request.model"));
      assertTrue(Long.parseLong(c.get("endTimeUnixNano").getAsString()) >= Long.parseLong(c.get("startTimeUnixNano").getAsString()));
    }
    JsonObject ok = calls.get(0), bad = calls.get(1);
    assertEquals("00-" + TRACE + "-" + ok.get("spanId").getAsString() + "-01", okHeader, "the provider's traceparent names the call span");
    assertEquals("5", attrs(ok).get("gen_ai.usage.input_tokens"));
    assertEquals("7", attrs(ok).get("gen_ai.usage.output_tokens"));
    assertEquals(0, ok.getAsJsonObject("status").get("code").getAsInt());
    assertEquals("first_token", ok.getAsJsonArray("events").get(0).getAsJsonObject().get("name").getAsString());
    assertEquals(2, bad.getAsJsonObject("status").get("code").getAsInt());
    assertEquals("PROVIDER_AUTH", bad.getAsJsonObject("status").get("message").getAsString());
    assertFalse(attrs(bad).containsKey("gen_ai.usage.output_tokens"));
    assertFalse(bad.has("events"));
  }

  @Test
  void withoutAnExporterTheProviderGetsTheAssignmentsTraceparent() {
    Tracing.configure(null, "", "");
    String tp = "00-" + TRACE + "-" + PARENT + "-01";
    try (Tracing.AttemptTrace run = new Tracing.AttemptTrace(tp, Map.of())) {
      Tracing.ProviderCall call = Tracing.providerCall("openai", "m1");
      assertEquals(tp, call.traceparent());
      call.firstToken();
      call.end(null, 1, 1); // nothing to export, no error
    }
    assertNull(Tracing.providerCall("openai", "m1").traceparent(), "outside an attempt: no trace");
  }
}
