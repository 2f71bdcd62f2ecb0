"""What a handler sees of an attempt, and the handler interface.

A handler runs in the attempt's own thread. It streams with ctx.emit(), waits
with ctx.wait() (which raises Aborted on CANCEL, deadline or shutdown), and
returns (output, usage) or raises TaskFailure.
"""
import threading
from typing import Any, Callable, Dict, List, Optional, Tuple

from ..errors import Aborted

Usage = Dict[str, float]
Outcome = Tuple[Any, Optional[Usage]]


class TaskContext:
    def __init__(self, task_id: str, kind: str, input_value: Any, secret_names: List[str],
                 emit: Callable[[Optional[str], Any], None], fetch_secrets: Callable[[], Dict[str, str]]) -> None:
        self.task_id = task_id
        self.kind = kind
        self.input = input_value
        self.secret_names = secret_names
        self._emit = emit
        self._fetch_secrets = fetch_secrets
        self._aborted = threading.Event()
        self._abort: Optional[Aborted] = None
        self._on_abort: List[Callable[[], None]] = []
        self._lock = threading.Lock()

    def emit(self, text: Optional[str] = None, data: Any = None) -> None:
        """Sends a chunk now (text delta and/or structured data)."""
        self.check()
        self._emit(text, data)

    def secrets(self) -> Dict[str, str]:
        return self._fetch_secrets() if self.secret_names else {}

    def abort(self, kind: str, reason: str) -> None:
        with self._lock:
            if self._abort is not None:
                return
            self._abort = Aborted(kind, reason)
            callbacks = list(self._on_abort)
        self._aborted.set()
        for cb in callbacks:
            try:
                cb()
            except Exception:  # noqa: BLE001 - a callback must not break the abort
                pass

    def on_abort(self, cb: Callable[[], None]) -> None:
        """Runs cb (from another thread) when the attempt is aborted, e.g. to close a socket."""
        with self._lock:
            if self._abort is None:
                self._on_abort.append(cb)
                return
        cb()

    @property
    def aborted(self) -> Optional[Aborted]:
        return self._abort

    def check(self) -> None:
        if self._abort is not None:
            raise self._abort

    def wait(self, seconds: float) -> None:
        """Sleeps, or raises Aborted as soon as the attempt is stopped."""
        if self._aborted.wait(max(0.0, seconds)):
            raise self._abort  # type: ignore[misc]


class Handler:
    kind = ""

    def models(self) -> List[Dict[str, Any]]:
        """ModelInfo dicts for the status (kind, name, ready, provider)."""
        return []

    def features(self) -> List[str]:
        """What it supports within its kind, "<kind>:<feature>" (WorkerStatus.features); [] = all of it."""
        return []

    def run(self, ctx: TaskContext) -> Outcome:
        raise NotImplementedError
