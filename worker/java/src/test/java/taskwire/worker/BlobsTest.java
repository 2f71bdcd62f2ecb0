package taskwire.worker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import taskwire.v1.ResultServiceOuterClass.BlobChunk;
import taskwire.v1.ResultServiceOuterClass.FetchBlobRequest;
import taskwire.v1.ResultServiceOuterClass.PutBlobChunk;
import taskwire.v1.ResultServiceOuterClass.PutBlobResponse;

/** FetchBlob / PutBlob against a real gRPC ResultService on 127.0.0.1:0 serving one blob in 1 MiB pieces, as the master does. */
class BlobsTest {
  static final String ID = "ab".repeat(32);
  final byte[] blob = new byte[5 * 1024 * 1024 / 2]; // 2.5 MiB: three pieces
  final List<FetchBlobRequest> fetches = new ArrayList<>();
  final List<PutBlobChunk> puts = new ArrayList<>();
  Server server;
  ResultServiceClient client;

  @BeforeEach
  void start() throws Exception {
    new Random(1).nextBytes(blob);
    ServerServiceDefinition def = ServerServiceDefinition.builder(ResultServiceClient.SERVICE)
        .addMethod(ResultServiceClient.FETCH_BLOB, ServerCalls.asyncServerStreamingCall((FetchBlobRequest r, StreamObserver<BlobChunk> out) -> {
          synchronized (this) {
            fetches.add(r);
          }
          if (!r.getBlobId().equals(ID)) {
            out.onError(Status.NOT_FOUND.withDescription("blob not found").asRuntimeException());
            return;
          }
          for (int off = 0; off < blob.length; off += Blobs.CHUNK) {
            BlobChunk.Builder b = BlobChunk.newBuilder().setData(ByteString.copyFrom(blob, off, Math.min(Blobs.CHUNK, blob.length - off)));
            if (off == 0) b.setContentType("image/png").setSize(blob.length);
            out.onNext(b.build());
          }
          out.onCompleted();
        }))
        .addMethod(ResultServiceClient.PUT_BLOB, ServerCalls.asyncClientStreamingCall((StreamObserver<PutBlobResponse> out) -> new StreamObserver<PutBlobChunk>() {
          final ByteArrayOutputStream got = new ByteArrayOutputStream();

          public void onNext(PutBlobChunk c) {
            synchronized (BlobsTest.this) {
              puts.add(c);
            }
            got.writeBytes(c.getData().toByteArray());
          }

          public void onError(Throwable t) {}

          public void onCompleted() {
            try {
              String id = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(got.toByteArray()));
              out.onNext(PutBlobResponse.newBuilder().setBlobId(id).setSize(got.size()).build());
              out.onCompleted();
            } catch (Exception e) {
              out.onError(e);
            }
          }
        }))
        .build();
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(def).build().start();
    client = new ResultServiceClient("127.0.0.1:" + server.getPort());
  }

  @AfterEach
  void stop() {
    client.close();
    server.shutdownNow();
  }

  static FetchBlobRequest req(String id) {
    return FetchBlobRequest.newBuilder().setTaskId("t1").setAttempt(2).setWorkerId("w1").setResultToken("tok").setBlobId(id).build();
  }

  @Test
  void fetchJoinsThePiecesAndBoundsTheSize() throws Exception {
    List<Runnable> aborts = new ArrayList<>();
    assertArrayEquals(blob, Blobs.fetch(client, req(ID), blob.length, aborts::add));
    assertEquals(1, aborts.size(), "a stop of the attempt cancels the call");
    assertEquals("tok", fetches.get(0).getResultToken());
    assertEquals(2, fetches.get(0).getAttempt());
    TaskFailure big = assertThrows(TaskFailure.class, () -> Blobs.fetch(client, req(ID), blob.length - 1, r -> {}));
    assertEquals("BAD_INPUT", big.code);
    assertFalse(big.retryable);
    assertTrue(big.getMessage().contains(blob.length + " bytes, more than " + (blob.length - 1)), big.getMessage());
    TaskFailure gone = assertThrows(TaskFailure.class, () -> Blobs.fetch(client, req("cd".repeat(32)), blob.length, r -> {}));
    assertEquals("BAD_INPUT", gone.code);
    assertTrue(gone.getMessage().contains("NOT_FOUND"), gone.getMessage());
    server.shutdownNow().awaitTermination();
    TaskFailure down = assertThrows(TaskFailure.class, () -> Blobs.fetch(client, req(ID), blob.length, r -> {}));
    assertEquals("INTERNAL", down.code);
    assertTrue(down.retryable, "the master away: another attempt may succeed");
  }

  @Test
  void putStreamsPiecesWithTheIdentityFirst() throws Exception {
    PutBlobChunk header = PutBlobChunk.newBuilder().setTaskId("t1").setAttempt(2).setWorkerId("w1").setResultToken("tok").setContentType("image/jpeg").build();
    PutBlobResponse r = Blobs.put(client, header, blob);
    assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(blob)), r.getBlobId());
    assertEquals(blob.length, r.getSize());
    assertEquals(3, puts.size(), "1 MiB pieces");
    assertEquals("tok", puts.get(0).getResultToken());
    assertEquals("image/jpeg", puts.get(0).getContentType());
    assertEquals("", puts.get(1).getResultToken(), "identity on the first message only");
    assertEquals(Blobs.CHUNK, puts.get(0).getData().size());
  }
}
