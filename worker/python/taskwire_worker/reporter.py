"""Results over gRPC (PROTOCOL.md section 8).

One StreamResults call per attempt (the "simpler, equally valid design" of
section 8.4): STARTED, chunks, heartbeats and the final go on it; half-closing
it and getting the StreamResultsResponse confirms the final. If the stream
breaks, later events go on a new stream, and an unconfirmed final is re-sent
with SubmitResult (backoff 100 ms doubling to 5 s) until any answer. When the
target changes, unconfirmed finals are re-sent to the new one.
"""
import logging
import queue
import threading
import time
from typing import Dict, Iterator, List, Optional, Tuple

import grpc

from .stubs import result_service_pb2 as rs
from .stubs import result_service_pb2_grpc as rs_grpc

log = logging.getLogger("taskwire.reporter")

CHANNEL_OPTIONS = [
    ("grpc.keepalive_time_ms", 10_000),
    ("grpc.keepalive_timeout_ms", 5_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2_000),
    ("grpc.max_receive_message_length", 16 * 1024 * 1024),
]
SUBMIT_DEADLINE_S = 5.0
CONFIRM_WAIT_S = 10.0
_END = object()

Key = Tuple[str, int]


class Reporter:
    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._target: Optional[str] = None
        self._channel: Optional[grpc.Channel] = None
        self._stub: Optional[rs_grpc.ResultServiceStub] = None
        self._closed = False
        # Finals not confirmed yet: (task_id, attempt) -> TaskResult.
        self.unconfirmed: Dict[Key, rs.TaskResult] = {}

    @property
    def target(self) -> Optional[str]:
        return self._target

    def set_target(self, target: str) -> None:
        with self._lock:
            if target == self._target or self._closed:
                return
            old = self._channel
            self._target = target
            self._channel = grpc.insecure_channel(target, options=CHANNEL_OPTIONS)
            self._stub = rs_grpc.ResultServiceStub(self._channel)
            pending = list(self.unconfirmed.values())
            self._lock.notify_all()
        log.info("result service target set: %s", target)
        if old is not None:
            old.close()
        for r in pending:
            threading.Thread(target=self.deliver, args=(r,), daemon=True).start()

    def stub(self, wait_s: float) -> Optional[rs_grpc.ResultServiceStub]:
        """The current stub, waiting up to wait_s for a target to be known."""
        with self._lock:
            self._lock.wait_for(lambda: self._stub is not None or self._closed, timeout=wait_s)
            return self._stub

    def open_stream(self) -> "AttemptStream":
        return AttemptStream(self)

    def deliver(self, result: rs.TaskResult, give_up_at: Optional[float] = None) -> None:
        """SubmitResult until the master answers (any disposition) or give_up_at passes."""
        key = (result.task_id, result.attempt)
        backoff = 0.1
        while key in self.unconfirmed and not self._closed:
            stub = self.stub(1.0)
            if stub is not None:
                try:
                    resp = stub.SubmitResult(result, timeout=SUBMIT_DEADLINE_S)
                    self.confirm(key)
                    if resp.disposition == rs.DISPOSITION_REJECTED:
                        log.info("final result rejected: %s", resp.reason, extra={"task_id": result.task_id})
                    return
                except grpc.RpcError as err:
                    code = err.code() if hasattr(err, "code") else None
                    if code == grpc.StatusCode.INVALID_ARGUMENT:
                        self.confirm(key)
                        log.warning("final result refused: %s", err, extra={"task_id": result.task_id})
                        return
            if give_up_at is not None and time.monotonic() > give_up_at:
                return
            time.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    def confirm(self, key: Key) -> None:
        with self._lock:
            self.unconfirmed.pop(key, None)
            self._lock.notify_all()

    def wait_confirmed(self, timeout_s: float) -> bool:
        with self._lock:
            return self._lock.wait_for(lambda: not self.unconfirmed, timeout=timeout_s)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            channel, self._channel, self._stub = self._channel, None, None
            self._lock.notify_all()
        if channel is not None:
            channel.close()


class AttemptStream:
    """The StreamResults call(s) of one attempt."""

    def __init__(self, reporter: Reporter) -> None:
        self._reporter = reporter
        self._lock = threading.Lock()
        self._queue: "Optional[queue.Queue[object]]" = None
        self._future: Optional[grpc.Future] = None
        self._pending: List[rs.ResultEvent] = []

    def _requests(self, q: "queue.Queue[object]") -> Iterator[rs.ResultBatch]:
        while True:
            item = q.get()
            if item is _END:
                return
            yield item  # type: ignore[misc]

    def _call(self) -> bool:
        """Makes sure a live call exists; False when there is no target yet."""
        if self._future is not None and not self._future.done():
            return True
        stub = self._reporter.stub(0)
        if stub is None:
            return False
        q: "queue.Queue[object]" = queue.Queue()
        future = stub.StreamResults.future(self._requests(q))
        future.add_done_callback(lambda _f: q.put(_END))
        self._queue, self._future = q, future
        return True

    def send(self, event: rs.ResultEvent) -> None:
        with self._lock:
            self._pending.append(event)
            if self._call():
                assert self._queue is not None
                self._queue.put(rs.ResultBatch(events=self._pending))
                self._pending = []

    def finish(self, final_event: rs.ResultEvent, result: rs.TaskResult, give_up_at: float) -> None:
        """Sends the final, half-closes, and waits for the confirmation (else SubmitResult)."""
        key = (result.task_id, result.attempt)
        with self._reporter._lock:
            self._reporter.unconfirmed[key] = result
        self.send(final_event)
        with self._lock:
            q, future = self._queue, self._future
        if q is not None and future is not None:
            q.put(_END)
            try:
                future.result(timeout=CONFIRM_WAIT_S)
                self._reporter.confirm(key)
                return
            except (grpc.RpcError, grpc.FutureTimeoutError, grpc.FutureCancelledError) as err:
                log.info("result stream failed (%s); re-sending the final with SubmitResult", type(err).__name__)
                future.cancel()
        self._reporter.deliver(result, give_up_at)
