package taskwire.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.InvalidProtocolBufferException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import taskwire.v1.Task.Assignments;
import taskwire.v1.Task.TaskAssignment;
import taskwire.v1.Worker.WorkerState;
import taskwire.v1.Worker.WorkerStatus;

class CodecTest {
  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void encodesProto3JsonAsSendersMust() {
    WorkerStatus s = WorkerStatus.newBuilder().setWorkerId("w1").setState(WorkerState.WORKER_STATE_ONLINE).addKinds("echo")
        .setCapacity(2).setStartedAtMs(1795482064785L).build();
    assertEquals("{\"worker_id\":\"w1\",\"state\":\"WORKER_STATE_ONLINE\",\"kinds\":[\"echo\"],\"capacity\":2,\"started_at_ms\":\"1795482064785\"}",
        new String(Codec.encode(s), StandardCharsets.UTF_8));
  }

  @Test
  void decodesLeniently() throws Exception {
    Assignments a = Codec.decode(b("{\"tasks\":[{\"taskId\":\"t\",\"attempt\":\"2\",\"kind\":\"echo\",\"resultToken\":\"k\",\"new_field\":1}]}"),
        Assignments.newBuilder(), 1 << 20).build();
    TaskAssignment t = a.getTasks(0);
    assertEquals("t", t.getTaskId());
    assertEquals(2, t.getAttempt());
    assertEquals("k", t.getResultToken());
  }

  @Test
  void refusesWhatProto3JsonRefuses() {
    String deep = "{\"a\":".repeat(70) + "1" + "}".repeat(70);
    for (String bad : new String[] {"[1]", "  ", deep, "{\"tasks\":\"x\"}", "{\"tasks\":[{\"kind\":5}]}", "{\"tasks\":[{\"stream\":\"true\"}]}"}) {
      assertThrows(InvalidProtocolBufferException.class, () -> Codec.decode(b(bad), Assignments.newBuilder(), 4096), bad);
    }
    assertThrows(InvalidProtocolBufferException.class, () -> Codec.decode(new byte[] {'{', '"', (byte) 0xff, '"', '}'}, Assignments.newBuilder(), 64));
    assertThrows(InvalidProtocolBufferException.class, () -> Codec.decode(b("{\"tasks\":[]}" + " ".repeat(100)), Assignments.newBuilder(), 64));
  }
}
