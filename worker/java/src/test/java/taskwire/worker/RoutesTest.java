package taskwire.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.Value;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import taskwire.v1.ResultServiceOuterClass.Disposition;
import taskwire.v1.ResultServiceOuterClass.FetchSecretsResponse;
import taskwire.v1.ResultServiceOuterClass.ResultBatch;
import taskwire.v1.ResultServiceOuterClass.ResultEvent;
import taskwire.v1.ResultServiceOuterClass.StreamResultsResponse;
import taskwire.v1.ResultServiceOuterClass.SubmitResultResponse;
import taskwire.v1.ResultServiceOuterClass.TaskResult;
import taskwire.v1.Task.Assignments;
import taskwire.v1.Task.TaskAssignment;
import taskwire.worker.handlers.EchoHandler;
import taskwire.worker.handlers.SleepHandler;

/** Assignments.result_target: each attempt reports to the ResultService its message names (as worker/go/routes_test.go). */
class RoutesTest {
  /** A real ResultService on 127.0.0.1:0 that records what it gets. */
  static final class FakeMaster {
    final Server server;
    final String addr;
    final List<ResultEvent> events = new ArrayList<>();
    final List<TaskResult> submits = new ArrayList<>();
    final List<String> secretsAsked = new ArrayList<>();

    /** refuseStreams: StreamResults fails, so finals must come again with SubmitResult. */
    FakeMaster(boolean refuseStreams) throws Exception {
      ServerServiceDefinition def = ServerServiceDefinition.builder(ResultServiceClient.SERVICE)
          .addMethod(ResultServiceClient.STREAM_RESULTS, ServerCalls.asyncClientStreamingCall(responses -> {
            if (refuseStreams) {
              responses.onError(Status.UNAVAILABLE.withDescription("streams refused by the test").asRuntimeException());
              return new StreamObserver<ResultBatch>() {
                public void onNext(ResultBatch b) {}

                public void onError(Throwable t) {}

                public void onCompleted() {}
              };
            }
            return new StreamObserver<ResultBatch>() {
              public void onNext(ResultBatch b) {
                synchronized (FakeMaster.this) {
                  events.addAll(b.getEventsList());
                }
              }

              public void onError(Throwable t) {}

              public void onCompleted() {
                responses.onNext(StreamResultsResponse.getDefaultInstance());
                responses.onCompleted();
              }
            };
          }))
          .addMethod(ResultServiceClient.SUBMIT_RESULT, ServerCalls.asyncUnaryCall((r, responses) -> {
            synchronized (this) {
              submits.add(r);
            }
            responses.onNext(SubmitResultResponse.newBuilder().setDisposition(Disposition.DISPOSITION_ACCEPTED).build());
            responses.onCompleted();
          }))
          .addMethod(ResultServiceClient.FETCH_SECRETS, ServerCalls.asyncUnaryCall((r, responses) -> {
            synchronized (this) {
              secretsAsked.add(r.getTaskId());
            }
            responses.onNext(FetchSecretsResponse.newBuilder().putSecrets("s", "v").build());
            responses.onCompleted();
          }))
          .build();
      server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(def).build().start();
      addr = "127.0.0.1:" + server.getPort();
    }

    /** The events of one task by kind ("started", "chunk", "heartbeat", "final") and its SubmitResult calls ("submit"). */
    synchronized Map<String, Integer> of(String taskId) {
      Map<String, Integer> n = new HashMap<>();
      for (ResultEvent ev : events) {
        if (!ev.getTaskId().equals(taskId)) continue;
        String k = ev.hasStarted() ? "started" : ev.hasChunk() ? "chunk" : ev.hasHeartbeat() ? "heartbeat" : ev.hasFinal() ? "final" : "other";
        n.merge(k, 1, Integer::sum);
      }
      for (TaskResult r : submits) if (r.getTaskId().equals(taskId)) n.merge("submit", 1, Integer::sum);
      return n;
    }

    synchronized List<String> secretsAsked() {
      return new ArrayList<>(secretsAsked);
    }
  }

  private final List<FakeMaster> masters = new ArrayList<>();

  @AfterEach
  void stop() {
    for (FakeMaster m : masters) m.server.shutdownNow();
  }

  private FakeMaster master(boolean refuseStreams) throws Exception {
    FakeMaster m = new FakeMaster(refuseStreams);
    masters.add(m);
    return m;
  }

  static void waitUntil(String what, BooleanSupplier cond) {
    long until = System.currentTimeMillis() + 10_000;
    while (!cond.getAsBoolean()) {
      if (System.currentTimeMillis() > until) fail("timed out waiting for " + what);
      Reporter.sleep(10);
    }
  }

  private static TaskAssignment assignment(String id, String kind, String inputJson) throws Exception {
    Value.Builder v = Value.newBuilder();
    com.google.protobuf.util.JsonFormat.parser().merge(inputJson, v);
    return TaskAssignment.newBuilder().setTaskId(id).setAttempt(1).setKind(kind).setInput(v).setResultToken("tok-" + id).setStream(true)
        .setHeartbeatIntervalMs(50).build();
  }

  private static int n(Map<String, Integer> m, String k) {
    return m.getOrDefault(k, 0);
  }

  @Test
  void resultTargetIsValidatedAndPortOnlyMeansTheBrokerHost() {
    Map<String, String> ok = Map.of("", "", "10.0.0.2:50051", "10.0.0.2:50051", "master-2.internal:7", "master-2.internal:7", "[::1]:50051", "[::1]:50051",
        ":50052", "broker.example:50052");
    ok.forEach((raw, want) -> assertEquals(want, Routes.resultTarget(raw, "broker.example"), raw));
    assertEquals("[::1]:9", Routes.resultTarget(":9", "::1"), "an IPv6 broker host is bracketed");
    assertEquals("[::1]:9", Routes.resultTarget(":9", "[::1]"), "a bracketed broker host stays as it is");
    for (String bad : new String[] {"no-port", "host:", "host:123456", "a b:1", "http://x:1", "host:port", "host:1/x"}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Routes.resultTarget(bad, "broker"), bad);
      assertTrue(e.getMessage().startsWith("result_target: "), e.getMessage());
    }
    String longBad = "x".repeat(100_000);
    assertTrue(assertThrows(IllegalArgumentException.class, () -> Routes.resultTarget(longBad, "b")).getMessage().length() < 200, "the value is cut in the message");
  }

  @Test
  void theCodecDecodesResultTarget() throws Exception {
    Assignments a = Codec.decode("{\"tasks\":[{\"task_id\":\"t\"}],\"master_id\":\"m2\",\"result_target\":\":50052\"}".getBytes(StandardCharsets.UTF_8),
        Assignments.newBuilder(), 4096).build();
    assertEquals(":50052", a.getResultTarget());
    assertEquals(":50052", Codec.decode("{\"tasks\":[],\"resultTarget\":\":50052\"}".getBytes(StandardCharsets.UTF_8), Assignments.newBuilder(), 4096).getResultTarget());
    assertThrows(Exception.class, () -> Codec.decode("{\"result_target\":5}".getBytes(StandardCharsets.UTF_8), Assignments.newBuilder(), 4096));
  }

  @Test
  void attemptsReportToTheirResultTarget() throws Exception {
    FakeMaster presence = master(false), other = master(false), streamless = master(true);
    Reporter rep = new Reporter();
    rep.setTarget(presence.addr);
    Routes routes = new Routes(3_600_000, 0);
    try {
      TaskHandler secrets = new TaskHandler() {
        public String kind() {
          return "secrets";
        }

        public Value run(TaskContext ctx, Value input) throws TaskFailure {
          return Values.str(ctx.secrets().get("s"));
        }
      };
      Map<String, TaskHandler> handlers = Map.of("echo", new EchoHandler(), "sleep", new SleepHandler(), "secrets", secrets);
      Runner r = new Runner("w-routes", handlers, rep, routes, () -> {});
      r.start(assignment("routed-sleep", "sleep", "{\"ms\":300}"), other.addr);
      r.start(assignment("routed-echo", "echo", "{\"text\":\"to the other master\"}"), other.addr);
      r.start(assignment("presence-echo", "echo", "{\"text\":\"to the presence master\"}"), "");
      r.start(assignment("resent-echo", "echo", "{\"text\":\"re-sent\"}"), streamless.addr);
      r.start(TaskAssignment.newBuilder(assignment("routed-secrets", "secrets", "{}")).addSecretNames("s").build(), other.addr);

      waitUntil("the finals", () -> n(other.of("routed-sleep"), "final") == 1 && n(other.of("routed-echo"), "final") == 1
          && n(presence.of("presence-echo"), "final") == 1 && n(streamless.of("resent-echo"), "submit") >= 1
          && n(other.of("routed-secrets"), "final") == 1);
      assertEquals("v", other.events.stream().filter(e -> e.getTaskId().equals("routed-secrets") && e.hasFinal()).findFirst().get()
          .getFinal().getOutput().getStringValue(), "the secret fetched from the attempt's master");
      Map<String, Integer> sleep = other.of("routed-sleep");
      assertEquals(1, n(sleep, "started"), sleep.toString());
      assertTrue(n(sleep, "heartbeat") >= 2, "the routed sleep's heartbeats: " + sleep);
      assertEquals(4, n(other.of("routed-echo"), "chunk"), other.of("routed-echo").toString());
      for (String id : List.of("routed-sleep", "routed-echo", "resent-echo", "routed-secrets")) {
        assertEquals(Map.of(), presence.of(id), id + " reached the presence master");
      }
      assertEquals(Map.of(), other.of("presence-echo"), "the unrouted attempt reached the other master");

      // One reporter per target, shared; closed once idle (no attempt, nothing unconfirmed).
      waitUntil("the attempts to end", () -> r.size() == 0 && routes.waitConfirmed(0) && rep.waitConfirmed(0));
      waitUntil("the attempts to release their routes", () -> routes.users(other.addr) == 0 && routes.users(streamless.addr) == 0);
      assertEquals(List.of("routed-secrets"), other.secretsAsked(), "FetchSecrets goes to the attempt's master");
      assertEquals(List.of(), presence.secretsAsked());
      assertEquals(2, routes.open().size(), routes.open().toString());
      assertTrue(routes.open().containsAll(List.of(other.addr, streamless.addr)));
      routes.sweep(System.currentTimeMillis() + 60_000);
      assertEquals(2, routes.open().size(), "routes closed before their idle time");
      routes.sweep(System.currentTimeMillis() + 2 * 3_600_000L);
      assertEquals(List.of(), routes.open(), "idle routes still open");

      // A later attempt to a closed target opens it again.
      r.start(assignment("again", "echo", "{\"text\":\"again\"}"), other.addr);
      waitUntil("the reopened route's final", () -> n(other.of("again"), "final") == 1);
    } finally {
      routes.close();
      rep.close();
    }
  }

  @Test
  void anInvalidResultTargetDropsTheWholeMessage() throws Exception {
    Config cfg = Config.fromEnv(Map.of("TASKWIRE_WORKER_ID", "w-invalid", "TASKWIRE_MQTT_URL", "mqtt://127.0.0.1:1", "TASKWIRE_WORKER_CAPACITY", "2"));
    Worker w = new Worker(cfg, Map.of("sleep", new SleepHandler()), List.of());
    try {
      byte[] msg = ("{\"tasks\":[{\"task_id\":\"t1\",\"attempt\":1,\"kind\":\"sleep\",\"input\":{\"ms\":10},\"result_token\":\"k\"}],"
          + "\"result_target\":\"no-port\"}").getBytes(StandardCharsets.UTF_8);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> w.onTasks(msg));
      assertTrue(e.getMessage().startsWith("result_target: "), e.getMessage());
      assertEquals(0, w.running(), "attempts started from a message with an invalid result_target");
    } finally {
      w.routes.close();
    }
  }
}
