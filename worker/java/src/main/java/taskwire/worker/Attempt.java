package taskwire.worker;

import com.google.protobuf.Value;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import taskwire.v1.ResultServiceOuterClass.FetchBlobRequest;
import taskwire.v1.ResultServiceOuterClass.FetchSecretsRequest;
import taskwire.v1.ResultServiceOuterClass.PutBlobChunk;
import taskwire.v1.ResultServiceOuterClass.Heartbeat;
import taskwire.v1.ResultServiceOuterClass.ResultChunk;
import taskwire.v1.ResultServiceOuterClass.ResultEvent;
import taskwire.v1.ResultServiceOuterClass.Started;
import taskwire.v1.ResultServiceOuterClass.TaskError;
import taskwire.v1.ResultServiceOuterClass.TaskOutcome;
import taskwire.v1.ResultServiceOuterClass.TaskResult;
import taskwire.v1.ResultServiceOuterClass.Usage;
import taskwire.v1.Task.TaskAssignment;

/**
 * One running attempt (PROTOCOL.md section 7.2), in its own thread: STARTED
 * (seq 1), a HEARTBEAT at least every heartbeat_interval_ms, chunks as the
 * handler streams, then exactly one final. CANCEL, the deadline and shutdown
 * stop it (CANCELLED, DEADLINE_EXCEEDED, WORKER_SHUTDOWN).
 */
final class Attempt implements TaskContext {
  static final ScheduledExecutorService TIMERS = Executors.newScheduledThreadPool(2, r -> {
    Thread t = new Thread(r, "attempt-timers");
    t.setDaemon(true);
    return t;
  });

  final TaskAssignment a;
  private final String workerId;
  private final AttemptStream stream;
  private final Reporter reporter;
  private final AttemptResources resources;
  private final Object lock = new Object();
  private long seq;
  private Aborted why;
  private long firstMs;
  private boolean finalBuilt;
  private Usage.Builder usage;
  private final List<Runnable> onAbort = new ArrayList<>();
  volatile long giveUpAtMs = System.currentTimeMillis() + 86_400_000L;

  Attempt(TaskAssignment a, String workerId, Reporter reporter, AttemptResources resources) {
    this.a = a;
    this.workerId = workerId;
    this.reporter = reporter;
    this.resources = resources;
    this.stream = new AttemptStream(reporter);
  }

  void stop(String kind, String reason) {
    List<Runnable> run;
    synchronized (lock) {
      if (why != null) return;
      why = new Aborted(kind, reason);
      run = new ArrayList<>(onAbort);
      lock.notifyAll();
    }
    for (Runnable r : run) {
      try {
        r.run();
      } catch (RuntimeException ignored) {
        // best effort
      }
    }
  }

  Aborted aborted() {
    synchronized (lock) {
      return why;
    }
  }

  /** Numbers and sends one event; seq follows sending order. */
  private void send(ResultEvent.Builder ev) {
    synchronized (stream) {
      if (finalBuilt) return; // nothing follows the final (a late heartbeat)
      synchronized (lock) {
        ev.setTaskId(a.getTaskId()).setAttempt(a.getAttempt()).setWorkerId(workerId).setResultToken(a.getResultToken()).setSeq(++seq);
      }
      stream.send(ev.build());
    }
  }

  @Override
  public String taskId() {
    return a.getTaskId();
  }

  @Override
  public void check() throws Aborted {
    Aborted ab = aborted();
    if (ab != null) throw ab;
  }

  @Override
  public void emit(String text) throws Aborted {
    check();
    synchronized (lock) {
      if (firstMs == 0) firstMs = System.currentTimeMillis();
    }
    if (!a.getStream()) return; // nobody watches partial output: the final carries it all
    send(ResultEvent.newBuilder().setChunk(ResultChunk.newBuilder().setText(text)));
  }

  @Override
  public void waitMs(long ms) throws Aborted {
    long until = System.currentTimeMillis() + ms;
    synchronized (lock) {
      while (why == null) {
        long left = until - System.currentTimeMillis();
        if (left <= 0) return;
        try {
          lock.wait(left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new Aborted("shutdown", "interrupted");
        }
      }
      throw why;
    }
  }

  @Override
  public void onAbort(Runnable r) {
    boolean now;
    synchronized (lock) {
      now = why != null;
      if (!now) onAbort.add(r);
    }
    if (now) r.run();
  }

  @Override
  public void usage(long promptTokens, long completionTokens, long totalTokens) {
    synchronized (lock) {
      usage = Usage.newBuilder().setPromptTokens((int) promptTokens).setCompletionTokens((int) completionTokens).setTotalTokens((int) totalTokens);
    }
  }

  @Override
  public List<String> secretNames() {
    return a.getSecretNamesList();
  }

  @Override
  public Map<String, String> secrets() throws TaskFailure {
    if (a.getSecretNamesCount() == 0) return Map.of();
    ResultServiceClient c = reporter.current(5000);
    if (c == null) throw new TaskFailure("INTERNAL", "no result service to fetch secrets from", true);
    try {
      return c.fetchSecrets(FetchSecretsRequest.newBuilder().setTaskId(a.getTaskId()).setAttempt(a.getAttempt())
          .setWorkerId(workerId).setResultToken(a.getResultToken()).build()).getSecretsMap();
    } catch (RuntimeException e) {
      throw new TaskFailure("INTERNAL", "FetchSecrets failed: " + e.getMessage(), true);
    }
  }

  @Override
  public byte[] fetchBlob(String blobId, long maxBytes) throws TaskFailure {
    ResultServiceClient c = reporter.current(5000);
    if (c == null) throw new TaskFailure("INTERNAL", "no result service to fetch the blob from", true);
    return Blobs.fetch(c, FetchBlobRequest.newBuilder().setTaskId(a.getTaskId()).setAttempt(a.getAttempt()).setWorkerId(workerId)
        .setResultToken(a.getResultToken()).setBlobId(blobId).build(), maxBytes, this::onAbort);
  }

  @Override
  public String putBlob(byte[] data, String contentType) throws TaskFailure {
    ResultServiceClient c = reporter.current(5000);
    if (c == null) throw new TaskFailure("INTERNAL", "no result service to store the blob in", true);
    return Blobs.put(c, PutBlobChunk.newBuilder().setTaskId(a.getTaskId()).setAttempt(a.getAttempt()).setWorkerId(workerId)
        .setResultToken(a.getResultToken()).setContentType(contentType).build(), data).getBlobId();
  }

  void run(Map<String, TaskHandler> handlers, Runnable done) {
    Map<String, Object> attrs = new java.util.LinkedHashMap<>();
    attrs.put("taskwire.task_id", a.getTaskId());
    attrs.put("taskwire.attempt", a.getAttempt());
    attrs.put("taskwire.kind", a.getKind());
    attrs.put("taskwire.worker_id", workerId);
    try (Tracing.AttemptTrace trace = new Tracing.AttemptTrace(a.getTraceparent(), attrs)) {
      runTraced(handlers, done, trace);
    }
  }

  private void runTraced(Map<String, TaskHandler> handlers, Runnable done, Tracing.AttemptTrace trace) {
    long started = System.currentTimeMillis();
    send(ResultEvent.newBuilder().setStarted(Started.newBuilder().setStartedAtMs(started)));
    // The attempt's start and end lines with its task id (AttemptLog), only when info is on.
    boolean logged = Log.enabled("info");
    if (logged) AttemptLog.started(a, trace.traceId);
    ScheduledFuture<?> beats = null;
    if (a.getHeartbeatIntervalMs() > 0) {
      long every = a.getHeartbeatIntervalMs();
      beats = TIMERS.scheduleAtFixedRate(
          () -> send(ResultEvent.newBuilder().setHeartbeat(Heartbeat.newBuilder().setTsMs(System.currentTimeMillis()))),
          every, every, TimeUnit.MILLISECONDS);
    }
    ScheduledFuture<?> deadline = null;
    if (a.getDeadlineMs() > 0) {
      deadline = TIMERS.schedule(() -> stop("deadline", "deadline exceeded"), Math.max(0, a.getDeadlineMs() - started), TimeUnit.MILLISECONDS);
    }
    TaskResult.Builder res = TaskResult.newBuilder().setTaskId(a.getTaskId()).setAttempt(a.getAttempt()).setWorkerId(workerId)
        .setResultToken(a.getResultToken()).setStartedAtMs(started);
    Exception err = null;
    Value out = null;
    AttemptResources.Mark mark = resources.begin(); // ended below, whatever the handler does
    try {
      TaskHandler h = handlers.get(a.getKind());
      if (h == null) throw new TaskFailure("UNSUPPORTED", "this worker does not run kind \"" + a.getKind() + "\"", true);
      out = h.run(this, a.hasInput() ? a.getInput() : null);
    } catch (Exception e) {
      err = e;
    } catch (Throwable t) {
      err = new TaskFailure("INTERNAL", "handler crashed: " + t, true);
    }
    AttemptResources.Use used = resources.end(mark);
    if (err == null && aborted() != null) err = aborted();
    if (err instanceof InterruptedException) err = aborted() != null ? aborted() : new Aborted("shutdown", "interrupted");
    if (err == null) {
      res.setOutcome(TaskOutcome.TASK_OUTCOME_SUCCEEDED).setOutput(out);
    } else if (err instanceof Aborted && ((Aborted) err).kind.equals("cancel")) {
      res.setOutcome(TaskOutcome.TASK_OUTCOME_CANCELLED).setError(TaskError.newBuilder().setCode("CANCELLED").setMessage(err.getMessage()));
    } else if (err instanceof Aborted && ((Aborted) err).kind.equals("deadline")) {
      res.setOutcome(TaskOutcome.TASK_OUTCOME_FAILED)
          .setError(TaskError.newBuilder().setCode("DEADLINE_EXCEEDED").setMessage("deadline exceeded").setRetryable(true));
    } else if (err instanceof Aborted) {
      res.setOutcome(TaskOutcome.TASK_OUTCOME_FAILED)
          .setError(TaskError.newBuilder().setCode("WORKER_SHUTDOWN").setMessage("worker shutting down").setRetryable(true));
    } else if (err instanceof TaskFailure) {
      TaskFailure f = (TaskFailure) err;
      res.setOutcome(TaskOutcome.TASK_OUTCOME_FAILED).setError(TaskError.newBuilder().setCode(f.code).setMessage(f.getMessage()).setRetryable(f.retryable));
    } else {
      res.setOutcome(TaskOutcome.TASK_OUTCOME_FAILED).setError(TaskError.newBuilder().setCode("INTERNAL").setMessage(String.valueOf(err)).setRetryable(true));
    }
    if (beats != null) beats.cancel(false);
    if (deadline != null) deadline.cancel(false);
    TaskResult result;
    ResultEvent fin;
    synchronized (stream) {
      synchronized (lock) {
        Usage.Builder u = usage != null ? usage : Usage.newBuilder();
        if (firstMs > 0) u.setTtftMs(firstMs - started);
        u.setCpuUs(used.cpuUs).setMemMibMs(used.memMibMs);
        if (usage != null || firstMs > 0 || used.cpuUs > 0 || used.memMibMs > 0) res.setUsage(u);
        res.setLastSeq(seq).setFinishedAtMs(System.currentTimeMillis());
        result = res.build();
        finalBuilt = true;
        fin = ResultEvent.newBuilder().setTaskId(a.getTaskId()).setAttempt(a.getAttempt()).setWorkerId(workerId)
            .setResultToken(a.getResultToken()).setSeq(++seq).setFinal(result).build();
      }
    }
    String outcome = result.getOutcome() == TaskOutcome.TASK_OUTCOME_SUCCEEDED ? "succeeded" : result.getOutcome() == TaskOutcome.TASK_OUTCOME_CANCELLED ? "cancelled" : "failed";
    try {
      Metrics.INSTANCE.attempt(a.getKind(), outcome, (result.getFinishedAtMs() - started) / 1000.0, result.hasError() ? result.getError().getCode() : null);
    } catch (RuntimeException e) {
      Log.warn("metrics: " + e); // never costs the attempt its result
    }
    trace.end(outcome, result.hasError() ? result.getError().getCode() : null);
    done.run();
    if (logged) AttemptLog.ended(a, result, result.getFinishedAtMs() - started, trace.traceId);
    stream.finish(fin, result, giveUpAtMs);
  }
}
