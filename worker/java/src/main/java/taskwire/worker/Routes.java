package taskwire.worker;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * Results to the master that dispatched them (docs/MULTI_MASTER.md). With one master everything
 * goes to the ResultService of the presence topic (the worker's Reporter). With several masters on
 * one broker each Assignments message names its master's ResultService (result_target,
 * PROTOCOL.md 7.1): the attempts it carries report there (STARTED, chunks, heartbeats, the final
 * and its SubmitResult re-sends, FetchSecrets), on a Reporter of their own per target, shared by
 * every attempt naming it and closed once no attempt has used it for TASKWIRE_RESULT_ROUTE_IDLE_MS
 * (IDLE_MS). As worker/go/routes.go.
 */
final class Routes {
  static final long IDLE_MS = 30_000;
  static final long SWEEP_MS = 5_000;
  private static final Pattern TARGET = Pattern.compile("^[^\\s/]*:[0-9]{1,5}$");

  /**
   * Validates Assignments.result_target and resolves ":port" to the broker's host (as for the
   * presence's grpc_host); "" stays "" (the presence master).
   */
  static String resultTarget(String raw, String brokerHost) {
    if (raw == null || raw.isEmpty()) return "";
    if (!TARGET.matcher(raw).matches()) {
      throw new IllegalArgumentException("result_target: expected host:port, got \"" + (raw.length() > 100 ? raw.substring(0, 100) + "..." : raw) + "\"");
    }
    return raw.charAt(0) == ':' ? bracket(brokerHost) + raw : raw;
  }

  /** An IPv6 literal in brackets, for host:port. */
  static String bracket(String host) {
    return host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
  }

  private static final class Route {
    final Reporter reporter = new Reporter();
    int users;
    long idleSinceMs;
  }

  private final Map<String, Route> byTarget = new HashMap<>();
  private final long idleMs;
  private final ScheduledFuture<?> sweeper;
  private boolean closed;

  /** Sweeps idle reporters every everyMs (0: only when sweep is called). */
  Routes(long idleMs, long everyMs) {
    this.idleMs = idleMs;
    sweeper = everyMs > 0 ? Attempt.TIMERS.scheduleAtFixedRate(() -> sweep(System.currentTimeMillis()), everyMs, everyMs, TimeUnit.MILLISECONDS) : null;
  }

  /** The reporter of target for one more attempt (opened when none is); null once closed. Pair each with release. */
  synchronized Reporter acquire(String target) {
    if (closed) return null;
    Route r = byTarget.get(target);
    if (r == null) {
      r = new Route();
      r.reporter.setTarget(target);
      byTarget.put(target, r);
    }
    r.users++;
    return r.reporter;
  }

  /** The attempt's final was confirmed (or given up). */
  synchronized void release(String target) {
    Route r = byTarget.get(target);
    if (r != null && --r.users == 0) r.idleSinceMs = System.currentTimeMillis();
  }

  /** Closes the reporters no attempt has used since nowMs - idle. */
  void sweep(long nowMs) {
    List<Reporter> idle = new ArrayList<>();
    synchronized (this) {
      byTarget.entrySet().removeIf(e -> {
        Route r = e.getValue();
        if (r.users > 0 || nowMs - r.idleSinceMs < idleMs || !r.reporter.unconfirmed.isEmpty()) return false;
        idle.add(r.reporter);
        Log.info("result route to " + e.getKey() + " closed (idle)");
        return true;
      });
    }
    for (Reporter r : idle) r.close();
  }

  /** The targets with an open reporter. */
  synchronized List<String> open() {
    return new ArrayList<>(byTarget.keySet());
  }

  /** Attempts using each open target (for tests). */
  synchronized int users(String target) {
    Route r = byTarget.get(target);
    return r == null ? 0 : r.users;
  }

  /** Waits up to ms for every route's finals to be confirmed. */
  boolean waitConfirmed(long ms) {
    long until = System.currentTimeMillis() + ms;
    List<Reporter> reps = new ArrayList<>();
    synchronized (this) {
      for (Route r : byTarget.values()) reps.add(r.reporter);
    }
    boolean ok = true;
    for (Reporter r : reps) ok = r.waitConfirmed(Math.max(0, until - System.currentTimeMillis())) && ok;
    return ok;
  }

  void close() {
    List<Route> all;
    synchronized (this) {
      if (closed) return;
      closed = true;
      all = new ArrayList<>(byTarget.values());
      byTarget.clear();
    }
    if (sweeper != null) sweeper.cancel(false);
    for (Route r : all) r.reporter.close();
  }
}
