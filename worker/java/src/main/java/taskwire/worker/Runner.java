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
  private final Routes routes;
  private final Runnable onChange;
  private final Map<String, Attempt> running = new HashMap<>();
  private final List<Thread> threads = new ArrayList<>();
  /** Each attempt's share of the process's CPU time and memory: Usage.cpu_us, mem_mib_ms. */
  private final AttemptResources resources = new AttemptResources(AttemptResources.PROCESS, Attempt.TIMERS);

  /** reporter: the presence master's; routes: one reporter per result_target (null: every attempt reports to reporter). */
  Runner(String workerId, Map<String, TaskHandler> handlers, Reporter reporter, Routes routes, Runnable onChange) {
    this.workerId = workerId;
    this.handlers = handlers;
    this.reporter = reporter;
    this.routes = routes;
    this.onChange = onChange;
  }

  synchronized int size() {
    return running.size();
  }

  /**
   * Runs an assignment; false if this task_id + attempt already runs (a QoS 1 duplicate).
   * target: the ResultService its results go to (a resolved result_target; "": the presence master's).
   */
  boolean start(TaskAssignment a, String target) {
    String k = Reporter.key(a.getTaskId(), a.getAttempt());
    Attempt t;
    Reporter rep = reporter;
    boolean routed = false;
    synchronized (this) {
      if (running.containsKey(k)) return false;
      if (target != null && !target.isEmpty() && routes != null) {
        Reporter r = routes.acquire(target);
        if (r != null) {
          rep = r;
          routed = true;
        }
      }
      t = new Attempt(a, workerId, rep, resources);
      running.put(k, t);
      threads.removeIf(th -> !th.isAlive());
    }
    boolean release = routed;
    Thread th = new Thread(() -> {
      try {
        t.run(handlers, () -> {
          synchronized (this) {
            running.remove(k);
          }
          onChange.run();
        });
      } finally {
        if (release) routes.release(target); // after its final was confirmed or given up
      }
    }, "attempt-" + a.getTaskId());
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
