package taskwire.worker;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.function.IntSupplier;

/**
 * GET /metrics of {@link Metrics} on a port of its own (TASKWIRE_METRICS_PORT; 0: any free
 * port), for Prometheus to scrape each worker, as the TypeScript worker's
 * worker/metrics-server.ts. Anything else is 404. The JDK's own HTTP server, one daemon thread.
 */
final class MetricsServer {
  private final HttpServer server;

  MetricsServer(Metrics metrics, String workerId, String host, int port, IntSupplier running, int capacity) throws IOException {
    server = HttpServer.create(new InetSocketAddress(host, port), 16);
    server.createContext("/", ex -> {
      try (ex) {
        int status = 404;
        String type = "text/plain";
        byte[] body = "not found\n".getBytes(StandardCharsets.UTF_8);
        if (ex.getRequestMethod().equals("GET") && ex.getRequestURI().getPath().equals("/metrics")) {
          try {
            body = metrics.render(workerId, running.getAsInt(), capacity).getBytes(StandardCharsets.UTF_8);
            status = 200;
            type = "text/plain; version=0.0.4; charset=utf-8";
          } catch (RuntimeException e) {
            status = 500;
            body = (e + "\n").getBytes(StandardCharsets.UTF_8);
          }
        }
        ex.getResponseHeaders().set("content-type", type);
        ex.sendResponseHeaders(status, body.length);
        try (OutputStream os = ex.getResponseBody()) {
          os.write(body);
        }
      }
    });
    server.setExecutor(null);
    server.start();
  }

  /** host:port it listens on. */
  String address() {
    InetSocketAddress a = server.getAddress();
    return a.getHostString() + ":" + a.getPort();
  }

  void close() {
    server.stop(0);
  }
}
