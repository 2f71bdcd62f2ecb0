package taskwire.worker;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import taskwire.v1.Task.TaskAssignment;

/** The attempts this worker runs, one thread each. */
final class Runner {
  private final String workerId;
  private final Map<String, TaskHandler> handlers;
  private final Reporter reporter;
  private final Runnable onChange;
  private final Map<String, Attempt> running = new HashMap<>();
  private final List<Thread> threads = new ArrayList<>();

  Runner(String workerId, Map<String, TaskHandler> handlers, Reporter reporter, Runnable onChange) {
    this.workerId = workerId;
    this.handlers = handlers;
    this.reporter = reporter;
    this.onChange = onChange;
  }

  synchronized int size() {
    return running.size();
  }

  /** Runs an assignment; false if this task_id + attempt already runs (a QoS 1 duplicate). */
  boolean start(TaskAssignment a) {
    String k = Reporter.key(a.getTaskId(), a.getAttempt());
    Attempt t;
    synchronized (this) {
      if (running.containsKey(k)) return false;
      t = new Attempt(a, workerId, reporter);
      running.put(k, t);
      threads.removeIf(th -> !th.isAlive());
    }
    Thread th = new Thread(() -> t.run(handlers, () -> {
      synchronized (this) {
        running.remove(k);
      }
      onChange.run();
    }), "attempt-" + a.getTaskId());
    th.setDaemon(true);
    synchronized (this) {
      threads.add(th);
    }
    th.start();
    return true;
  }

  boolean cancel(String taskId, int attempt, String reason) {
    Attempt t;
    synchronized (this) {
      t = running.get(Reporter.key(taskId, attempt));
    }
    if (t == null) return false;
    t.stop("cancel", reason == null || reason.isEmpty() ? "cancelled" : reason);
    return true;
  }

  /** Lets attempts finish for graceMs, hands back the rest, and waits (bounded) for their finals. */
  void shutdown(long graceMs, long deliverMs) {
    long until = System.currentTimeMillis() + graceMs;
    while (size() > 0 && System.currentTimeMillis() < until) Reporter.sleep(20);
    List<Thread> all;
    synchronized (this) {
      for (Attempt t : running.values()) {
        t.giveUpAtMs = System.currentTimeMillis() + deliverMs;
        t.stop("shutdown", "worker shutting down");
      }
      all = new ArrayList<>(threads);
    }
    long end = System.currentTimeMillis() + deliverMs;
    for (Thread th : all) {
      long left = end - System.currentTimeMillis();
      if (left <= 0) break;
      try {
        th.join(left);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }
}
