"""Running attempts (PROTOCOL.md section 7.2): one thread per attempt.

STARTED (seq 1), a HEARTBEAT at least every heartbeat_interval_ms, chunks as
the handler emits them, then exactly one final. CANCEL, the deadline and
shutdown abort the handler (CANCELLED, DEADLINE_EXCEEDED, WORKER_SHUTDOWN).
"""
import functools
import logging
import threading
import time
from typing import Any, Callable, Dict, Optional, Tuple

import grpc

from . import attempt_log, codec, tracing
from .errors import Aborted, TaskFailure
from .handlers.base import Handler, TaskContext
from .metrics import METRICS
from .reporter import Reporter
from .resources import AttemptResources
from .routes import Routes
from .stubs import result_service_pb2 as rs
from .stubs import task_pb2

log = logging.getLogger("taskwire.runner")

Key = Tuple[str, int]
FETCH_SECRETS_DEADLINE_S = 10.0
# How long a final may still be re-sent after the attempt ended while the worker runs on.
DELIVERY_WINDOW_S = 24 * 3600.0


def now_ms() -> int:
    return int(time.time() * 1000)


class Attempt:
    def __init__(self, a: task_pb2.TaskAssignment, worker_id: str, handler: Optional[Handler], reporter: Reporter,
                 on_done: Callable[["Attempt"], None], on_delivered: Optional[Callable[[], None]] = None,
                 resources: Optional[AttemptResources] = None) -> None:
        self.a = a
        self.key: Key = (a.task_id, a.attempt)
        self.worker_id = worker_id
        self.handler = handler
        self.reporter = reporter
        self.on_done = on_done
        # Called once the final was confirmed or given up (a routed attempt releases its route).
        self.on_delivered = on_delivered
        # The process's CPU time and memory shared among the running attempts (resources.py): Usage.cpu_us, mem_mib_ms.
        self.resources = resources if resources is not None else AttemptResources(sweep_s=None)
        self.seq = 0
        self.seq_lock = threading.Lock()
        self.stream = reporter.open_stream()
        self.ctx = TaskContext(a.task_id, a.kind, codec.value_to_py(a.input, a.HasField("input")), list(a.secret_names),
                               self._emit, self._fetch_secrets)
        self.finished = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"attempt-{a.task_id}-{a.attempt}", daemon=True)
        self.give_up_at = time.monotonic() + DELIVERY_WINDOW_S
        self.first_chunk_ms: Optional[int] = None

    def start(self) -> None:
        self.thread.start()

    def abort(self, kind: str, reason: str) -> None:
        self.ctx.abort(kind, reason)

    def _event(self, **fields: Any) -> rs.ResultEvent:
        with self.seq_lock:
            self.seq += 1
            return rs.ResultEvent(task_id=self.a.task_id, attempt=self.a.attempt, worker_id=self.worker_id,
                                  result_token=self.a.result_token, seq=self.seq, **fields)

    def _send(self, **fields: Any) -> None:
        # Numbering and queueing under one lock keeps seq in sending order.
        with self.seq_lock:
            self.seq += 1
            ev = rs.ResultEvent(task_id=self.a.task_id, attempt=self.a.attempt, worker_id=self.worker_id,
                                result_token=self.a.result_token, seq=self.seq, **fields)
            self.stream.send(ev)

    def _emit(self, text: Optional[str], data: Any) -> None:
        if self.first_chunk_ms is None:
            self.first_chunk_ms = now_ms()
        if not self.a.stream:
            return  # nobody watches partial output: the final carries it all (TaskAssignment.stream)
        chunk = rs.ResultChunk(text=text or "")
        if data is not None:
            chunk.data.CopyFrom(codec.py_to_value(data))
        self._send(chunk=chunk)

    def _fetch_secrets(self) -> Dict[str, str]:
        stub = self.reporter.stub(FETCH_SECRETS_DEADLINE_S)
        if stub is None:
            raise TaskFailure("PROVIDER_AUTH", "no result service to fetch secrets from", True)
        req = rs.FetchSecretsRequest(task_id=self.a.task_id, attempt=self.a.attempt, worker_id=self.worker_id,
                                     result_token=self.a.result_token)
        try:
            return dict(stub.FetchSecrets(req, timeout=FETCH_SECRETS_DEADLINE_S).secrets)
        except grpc.RpcError as err:
            if err.code() == grpc.StatusCode.PERMISSION_DENIED:
                raise TaskFailure("CANCELLED", f"secrets refused: {err.details()}", False) from None
            raise TaskFailure("PROVIDER_UNAVAILABLE", f"could not fetch secrets: {err.code().name}", True) from None

    def _heartbeats(self, interval_s: float) -> None:
        while not self.finished.wait(interval_s):
            self._send(heartbeat=rs.Heartbeat(ts_ms=now_ms()))

    def _run(self) -> None:
        a = self.a
        attrs = {"taskwire.task_id": a.task_id, "taskwire.attempt": a.attempt, "taskwire.kind": a.kind, "taskwire.worker_id": self.worker_id}
        try:
            with tracing.AttemptTrace(a.traceparent, attrs) as trace:
                self._run_traced(trace)
        finally:
            if self.on_delivered is not None:
                self.on_delivered()

    def _run_traced(self, trace: tracing.AttemptTrace) -> None:
        a = self.a
        started_ms = now_ms()
        self._send(started=rs.Started(started_at_ms=started_ms))
        # The attempt's start and end lines with its task id (attempt_log.py), only when info is on.
        logged = attempt_log.enabled(log)
        if logged:
            attempt_log.started(log, a, self.ctx.input, trace.trace_id)
        beats: Optional[threading.Thread] = None
        if a.heartbeat_interval_ms > 0:
            beats = threading.Thread(target=self._heartbeats, args=(a.heartbeat_interval_ms / 1000,), daemon=True)
            beats.start()
        timer: Optional[threading.Timer] = None
        if a.deadline_ms > 0:
            timer = threading.Timer(max(0.0, (a.deadline_ms - now_ms()) / 1000), self.abort, ("deadline", "deadline exceeded"))
            timer.daemon = True
            timer.start()
        result = rs.TaskResult(task_id=a.task_id, attempt=a.attempt, worker_id=self.worker_id,
                               result_token=a.result_token, started_at_ms=started_ms)
        mark = self.resources.begin()  # ended below, whatever the handler does
        try:
            if self.handler is None:
                raise TaskFailure("UNSUPPORTED", f'this worker does not run kind "{a.kind}"', True)
            output, usage = self.handler.run(self.ctx)
            self.ctx.check()
            result.outcome = rs.TASK_OUTCOME_SUCCEEDED
            result.output.CopyFrom(codec.py_to_value(output))
            if usage:
                for k, v in usage.items():
                    setattr(result.usage, k, v)
        except Aborted as ab:
            self._fail(result, ab)
        except TaskFailure as f:
            result.outcome = rs.TASK_OUTCOME_FAILED
            result.error.CopyFrom(rs.TaskError(code=f.code, message=f.message, retryable=f.retryable))
        except Exception as err:  # noqa: BLE001 - a handler bug fails the attempt, not the worker
            log.exception("handler crashed", extra={"task_id": a.task_id, "trace_id": trace.trace_id})
            result.outcome = rs.TASK_OUTCOME_FAILED
            result.error.CopyFrom(rs.TaskError(code="INTERNAL", message=str(err)[:500], retryable=True))
        result.usage.cpu_us, result.usage.mem_mib_ms = self.resources.end(mark)
        self.finished.set()
        if timer is not None:
            timer.cancel()
        if beats is not None:
            beats.join()
        if self.first_chunk_ms is not None and not result.usage.ttft_ms:
            result.usage.ttft_ms = float(self.first_chunk_ms - started_ms)
        with self.seq_lock:
            result.last_seq = self.seq
        result.finished_at_ms = now_ms()
        outcome = {rs.TASK_OUTCOME_SUCCEEDED: "succeeded", rs.TASK_OUTCOME_CANCELLED: "cancelled"}.get(result.outcome, "failed")
        try:
            METRICS.attempt(a.kind, outcome, (result.finished_at_ms - started_ms) / 1000, result.error.code or None)
        except Exception:  # noqa: BLE001 - metrics never cost an attempt its result
            log.exception("metrics failed")
        trace.end(outcome, result.error.code or None)
        final = self._event(final=result)
        self.on_done(self)
        if logged:
            attempt_log.ended(log, a, result, result.finished_at_ms - started_ms, trace.trace_id)
        self.stream.finish(final, result, self.give_up_at)

    @staticmethod
    def _fail(result: rs.TaskResult, ab: Aborted) -> None:
        if ab.kind == "cancel":
            result.outcome = rs.TASK_OUTCOME_CANCELLED
            result.error.CopyFrom(rs.TaskError(code="CANCELLED", message=ab.reason or "cancelled"))
        elif ab.kind == "deadline":
            result.outcome = rs.TASK_OUTCOME_FAILED
            result.error.CopyFrom(rs.TaskError(code="DEADLINE_EXCEEDED", message="deadline exceeded", retryable=True))
        else:
            result.outcome = rs.TASK_OUTCOME_FAILED
            result.error.CopyFrom(rs.TaskError(code="WORKER_SHUTDOWN", message="worker shutting down", retryable=True))


class Runner:
    def __init__(self, worker_id: str, handlers: Dict[str, Handler], reporter: Reporter,
                 on_change: Callable[[], None], routes: Optional[Routes] = None) -> None:
        self.worker_id = worker_id
        self.handlers = handlers
        self.reporter = reporter
        self.routes = routes
        self.on_change = on_change
        self._lock = threading.Lock()
        self._running: Dict[Key, Attempt] = {}
        self._threads: Dict[Key, threading.Thread] = {}
        self.resources = AttemptResources()

    @property
    def size(self) -> int:
        with self._lock:
            return len(self._running)

    def start(self, a: task_pb2.TaskAssignment, target: str = "") -> bool:
        """Starts an attempt; False if this task_id + attempt already runs (QoS 1 duplicate).
        target: the ResultService its results go to (a resolved result_target; "": the presence master's)."""
        key = (a.task_id, a.attempt)
        with self._lock:
            if key in self._running:
                return False
            self._threads = {k: t for k, t in self._threads.items() if t.is_alive()}
            reporter: Reporter = self.reporter
            release: Optional[Callable[[], None]] = None
            routed = self.routes.acquire(target) if target and self.routes is not None else None
            if routed is not None and self.routes is not None:
                reporter, release = routed, functools.partial(self.routes.release, target)
            attempt = Attempt(a, self.worker_id, self.handlers.get(a.kind), reporter, self._done, release, self.resources)
            self._running[key] = attempt
            self._threads[key] = attempt.thread
        attempt.start()
        return True

    def _done(self, attempt: Attempt) -> None:
        with self._lock:
            self._running.pop(attempt.key, None)
        self.on_change()

    def cancel(self, task_id: str, attempt: int, reason: str) -> bool:
        with self._lock:
            target = self._running.get((task_id, attempt))
        if target is None:
            return False
        target.abort("cancel", reason or "cancelled")
        return True

    def shutdown(self, grace_s: float, deliver_s: float) -> None:
        """Lets attempts finish for grace_s, aborts the rest as WORKER_SHUTDOWN, waits for their finals."""
        until = time.monotonic() + grace_s
        while self.size and time.monotonic() < until:
            time.sleep(0.02)
        with self._lock:
            rest = list(self._running.values())
        for att in rest:
            att.give_up_at = time.monotonic() + deliver_s
            att.abort("shutdown", "worker shutting down")
        deadline = time.monotonic() + deliver_s
        with self._lock:
            threads = list(self._threads.values())
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            self._threads = {k: t for k, t in self._threads.items() if t.is_alive()}
