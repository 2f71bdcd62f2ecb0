"""Results to the master that dispatched them (docs/MULTI_MASTER.md).

With one master everything goes to the ResultService of the presence topic
(the worker's own Reporter). With several masters on one broker each
Assignments message names its master's ResultService (``result_target``,
PROTOCOL.md section 7.1): the attempts it carries report there (STARTED,
chunks, heartbeats, the final and its SubmitResult re-sends, secrets and
blobs), on a Reporter of their own per target, shared by every attempt that
names it and closed once no attempt has used it for ROUTE_IDLE_S. The same
design as the Go worker's routes.go.
"""
import logging
import re
import threading
import time
from typing import Dict, List, Optional

from .errors import InvalidMessage
from .reporter import Reporter

log = logging.getLogger("taskwire.routes")

ROUTE_IDLE_S = 30.0
ROUTE_SWEEP_S = 5.0
TARGET = re.compile(r"^[^\s/]*:[0-9]{1,5}$")


def result_target(raw: str, broker_host: str) -> str:
    """Assignments.result_target checked, ":port" resolved to the broker's host; "" stays "" (the presence master)."""
    if not raw:
        return ""
    if not TARGET.match(raw):
        raise InvalidMessage(f"result_target: expected host:port, got {raw[:100]!r}")
    if raw.startswith(":"):
        host = f"[{broker_host}]" if ":" in broker_host and not broker_host.startswith("[") else broker_host
        return host + raw
    return raw


class _Route:
    def __init__(self, target: str) -> None:
        self.reporter = Reporter()
        self.reporter.set_target(target)
        self.users = 0
        self.idle_since = time.monotonic()


class Routes:
    """One Reporter per result_target; a background thread closes idle ones (every_s 0: only ``sweep()``)."""

    def __init__(self, idle_s: float = ROUTE_IDLE_S, every_s: float = ROUTE_SWEEP_S) -> None:
        self.idle_s = idle_s
        self._lock = threading.Lock()
        self._by_target: Dict[str, _Route] = {}
        self._closed = False
        self._stop = threading.Event()
        if every_s > 0:
            threading.Thread(target=self._sweeper, args=(every_s,), name="result-routes", daemon=True).start()

    def _sweeper(self, every_s: float) -> None:
        while not self._stop.wait(every_s):
            self.sweep(time.monotonic())

    def acquire(self, target: str) -> Optional[Reporter]:
        """The reporter of target for one more attempt (opened when there is none); None once closed.
        Every acquire is paired with a release."""
        with self._lock:
            if self._closed:
                return None
            r = self._by_target.get(target)
            if r is None:
                r = self._by_target[target] = _Route(target)
            r.users += 1
            return r.reporter

    def release(self, target: str) -> None:
        """The attempt's final was confirmed (or given up)."""
        with self._lock:
            r = self._by_target.get(target)
            if r is not None:
                r.users -= 1
                if r.users == 0:
                    r.idle_since = time.monotonic()

    def sweep(self, now: float) -> None:
        """Closes the reporters no attempt has used since now - idle_s."""
        idle: List[Reporter] = []
        with self._lock:
            for target, r in list(self._by_target.items()):
                if r.users == 0 and now - r.idle_since >= self.idle_s and not r.reporter.unconfirmed:
                    idle.append(r.reporter)
                    del self._by_target[target]
                    log.info("result route to %s closed (idle)", target)
        for rep in idle:
            rep.close()

    def open(self) -> List[str]:
        """The targets with an open reporter."""
        with self._lock:
            return sorted(self._by_target)

    def wait_confirmed(self, timeout_s: float) -> bool:
        """Waits up to timeout_s for every route's finals to be confirmed."""
        until = time.monotonic() + timeout_s
        with self._lock:
            reporters = [r.reporter for r in self._by_target.values()]
        ok = True
        for rep in reporters:
            ok = rep.wait_confirmed(max(0.0, until - time.monotonic())) and ok
        return ok

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            routes, self._by_target = list(self._by_target.values()), {}
        self._stop.set()
        for r in routes:
            r.reporter.close()
