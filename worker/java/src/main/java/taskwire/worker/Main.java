package taskwire.worker;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import taskwire.v1.Worker.ModelInfo;
import taskwire.worker.handlers.EchoHandler;
import taskwire.worker.handlers.ImageHandler;
import taskwire.worker.handlers.LlmHandler;
import taskwire.worker.handlers.SleepHandler;

/** `java -jar taskwire-worker.jar`: runs one worker until SIGTERM/SIGINT. */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    // `image` uses java.awt.image: headless before any AWT class loads, so no X server (or DISPLAY) is needed.
    System.setProperty("java.awt.headless", "true");
    Config cfg;
    LlmHandler llm;
    ImageHandler image;
    try {
      cfg = Config.fromEnv(System.getenv());
      llm = LlmHandler.fromEnv(System.getenv());
      image = ImageHandler.fromEnv(System.getenv());
    } catch (Config.ConfigException e) {
      System.err.println("taskwire worker: " + e.getMessage());
      System.exit(2);
      return;
    }
    Log.source = cfg.workerId;
    Log.min = Log.RANKS.get(cfg.logLevel);
    Map<String, TaskHandler> handlers = new LinkedHashMap<>();
    for (TaskHandler h : List.of(new EchoHandler(), new SleepHandler(), image)) handlers.put(h.kind(), h);
    List<ModelInfo> models = List.of();
    if (llm != null) {
      handlers.put(llm.kind(), llm);
      models = llm.models();
    }
    Worker w = new Worker(cfg, handlers, models);
    Tracing.configure(cfg.otlpEndpoint, cfg.serviceName, cfg.workerId);
    MetricsServer metricsServer = null;
    if (cfg.metricsPort != null) {
      try {
        metricsServer = new MetricsServer(Metrics.INSTANCE, cfg.workerId, cfg.metricsHost, cfg.metricsPort, w::running, cfg.capacity);
      } catch (java.io.IOException e) {
        System.err.println("taskwire worker: TASKWIRE_METRICS_PORT: " + e.getMessage());
        System.exit(2);
        return;
      }
      Log.info("metrics on http://" + metricsServer.address() + "/metrics");
    }
    MetricsServer served = metricsServer;
    CountDownLatch closed = new CountDownLatch(1);
    // SIGTERM/SIGINT run the shutdown hooks: drain, finish or hand back, OFFLINE.
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      Log.info("shutting down");
      w.close();
      if (served != null) served.close();
      Tracing.shutdown();
      closed.countDown();
    }, "shutdown"));
    w.start();
    closed.await();
  }
}
