"""W3C trace context for attempts (docs/OBSERVABILITY.md, "Traces").

An assignment's ``traceparent`` (the master's attempt span) is continued: with
OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) set, each attempt is a
``taskwire.worker.run`` span (kind CONSUMER), child of it, and each LLM
provider call a ``taskwire.provider.call`` span (kind CLIENT, child of the run
span: ``gen_ai.*`` attributes, a ``first_token`` event, error status with the
code), exported over OTLP/HTTP JSON by a background thread (batched, bounded
queue), like the TypeScript worker's (worker/attempt-telemetry.ts). Either way
the attempt's thread knows its trace (``current()``): log lines carry
``trace_id`` and the llm handler sends a ``traceparent`` to the provider (the
provider call span as parent when exporting, else the assignment's own). A small exporter of its own rather than the
OpenTelemetry SDK (not a Debian package this worker can count on).
"""
import json
import logging
import os
import re
import secrets
import threading
import time
import urllib.request
from typing import Any, Dict, List, Optional, Tuple

from . import VERSION

TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
MAX_QUEUED = 2048
BATCH = 256
log = logging.getLogger("taskwire.tracing")
_local = threading.local()


def parse_traceparent(value: str) -> Optional[Tuple[str, str, str]]:
    """(trace_id, parent span_id, flags) of a version-00 traceparent; None when malformed or all-zero."""
    m = TRACEPARENT.match((value or "").strip())
    if not m or m.group(1) == "0" * 32 or m.group(2) == "0" * 16:
        return None
    return m.group(1), m.group(2), m.group(3)


class Span:
    def __init__(self, trace_id: str, parent_id: Optional[str], flags: str, name: str, kind: int, attributes: Dict[str, Any]) -> None:
        self.trace_id, self.parent_id, self.flags = trace_id, parent_id, flags
        self.span_id = secrets.token_hex(8)
        self.name, self.kind, self.attributes = name, kind, dict(attributes)
        self.start_ns = time.time_ns()
        self.end_ns = 0
        self.error = False
        self.status_message = ""
        self.events: List[Tuple[int, str]] = []

    def otlp(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {
            "traceId": self.trace_id, "spanId": self.span_id, "name": self.name, "kind": self.kind,
            "startTimeUnixNano": str(self.start_ns), "endTimeUnixNano": str(self.end_ns),
            "attributes": [_attr(k, v) for k, v in self.attributes.items()],
            "status": {"code": 2, "message": self.status_message} if self.error and self.status_message else {"code": 2 if self.error else 0},
        }
        if self.events:
            out["events"] = [{"timeUnixNano": str(ns), "name": name} for ns, name in self.events]
        if self.parent_id:
            out["parentSpanId"] = self.parent_id
        return out


def _attr(key: str, value: Any) -> Dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": str(value)}}


class Tracer:
    """Exports finished spans every second (or BATCH at once); ``close()`` sends the rest."""

    def __init__(self, endpoint: str, service: str, worker_id: str) -> None:
        self.endpoint, self.service, self.worker_id = endpoint, service, worker_id
        self.headers = {"content-type": "application/json"}
        for kv in (os.environ.get("OTEL_EXPORTER_OTLP_HEADERS") or "").split(","):
            k, sep, v = kv.partition("=")
            if sep and k.strip():
                self.headers[k.strip()] = v.strip()
        self._queue: List[Dict[str, Any]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.dropped = 0
        self._thread = threading.Thread(target=self._loop, name="otlp-exporter", daemon=True)
        self._thread.start()

    def end(self, span: Span) -> None:
        span.end_ns = time.time_ns()
        with self._lock:
            if len(self._queue) >= MAX_QUEUED:
                self.dropped += 1
                return
            self._queue.append(span.otlp())
            full = len(self._queue) >= BATCH
        if full:
            self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(1.0)
            self._wake.clear()
            self._flush()
        self._flush()

    def _flush(self) -> None:
        with self._lock:
            spans, self._queue = self._queue, []
        for i in range(0, len(spans), BATCH):
            self._post(spans[i:i + BATCH])

    def _post(self, spans: List[Dict[str, Any]]) -> None:
        body = {"resourceSpans": [{
            "resource": {"attributes": [_attr("service.name", self.service), _attr("service.instance.id", self.worker_id), _attr("telemetry.sdk.language", "python")]},
            "scopeSpans": [{"scope": {"name": "taskwire-worker-python", "version": VERSION}, "spans": spans}],
        }]}
        req = urllib.request.Request(self.endpoint, data=json.dumps(body).encode(), headers=self.headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=10) as res:
                res.read(65536)
        except Exception as err:  # noqa: BLE001 - export never breaks the worker
            log.warning("trace export failed: %s", err)

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(15)


TRACER: Optional[Tracer] = None


def configure(endpoint: Optional[str], service: str, worker_id: str) -> Optional[Tracer]:
    """Makes the process's tracer (None without an endpoint: no thread, no spans)."""
    global TRACER  # noqa: PLW0603 - one tracer per process, like METRICS
    TRACER = Tracer(endpoint, service, worker_id) if endpoint else None
    return TRACER


class AttemptTrace:
    """An attempt's trace: its run span (when exporting) and what its thread knows."""

    def __init__(self, traceparent: str, attributes: Dict[str, Any]) -> None:
        parsed = parse_traceparent(traceparent)
        self.span: Optional[Span] = None
        self.trace_id = parsed[0] if parsed else ""
        self.outgoing = f"00-{parsed[0]}-{parsed[1]}-{parsed[2]}" if parsed else ""
        if TRACER is not None:
            trace_id = parsed[0] if parsed else secrets.token_hex(16)
            self.span = Span(trace_id, parsed[1] if parsed else None, parsed[2] if parsed else "01", "taskwire.worker.run", 5, attributes)
            self.trace_id = trace_id
            self.outgoing = f"00-{trace_id}-{self.span.span_id}-{self.span.flags}"

    def __enter__(self) -> "AttemptTrace":
        _local.trace = self
        return self

    def __exit__(self, *_exc: object) -> None:
        _local.trace = None

    def provider_call(self, provider: str, model: str) -> Optional["ProviderCall"]:
        """A taskwire.provider.call span, child of the run span; None when not exporting."""
        if self.span is None or TRACER is None:
            return None
        return ProviderCall(Span(self.trace_id, self.span.span_id, self.span.flags, "taskwire.provider.call", 3,
                                 {"gen_ai.system": provider, "gen_ai.request.model": model}))

    def end(self, outcome: str, code: Optional[str]) -> None:
        if self.span is None or TRACER is None:
            return
        self.span.attributes["taskwire.outcome"] = outcome
        if code:
            self.span.attributes["taskwire.error_code"] = code
            self.span.error = outcome == "failed"
        TRACER.end(self.span)


class ProviderCall:
    """One LLM provider call's span (kind CLIENT): ``first_token()`` at the first delta, ``end()`` once.
    Labels are configured provider and model names, never user text."""

    def __init__(self, span: Span) -> None:
        self.span = span
        self._ended = False

    def headers(self) -> Dict[str, str]:
        """The traceparent for the provider request: this span as its parent."""
        return {"traceparent": f"00-{self.span.trace_id}-{self.span.span_id}-{self.span.flags}"}

    def first_token(self) -> None:
        if not self.span.events:
            self.span.events.append((time.time_ns(), "first_token"))

    def end(self, code: Optional[str], usage: Optional[Dict[str, float]]) -> None:
        """code: the TaskFailure code when the call failed; usage: the provider's token counts."""
        if self._ended or TRACER is None:
            return
        self._ended = True
        if usage:
            self.span.attributes["gen_ai.usage.input_tokens"] = int(usage.get("prompt_tokens") or 0)
            self.span.attributes["gen_ai.usage.output_tokens"] = int(usage.get("completion_tokens") or 0)
        if code:
            self.span.error, self.span.status_message = True, code
        TRACER.end(self.span)


def provider_call(provider: str, model: str) -> Optional[ProviderCall]:
    """The span of a provider call made on an attempt's thread (None when it is not exported)."""
    t = current()
    return t.provider_call(provider, model) if t is not None else None


def current() -> Optional[AttemptTrace]:
    """The trace of the attempt this thread runs, if any."""
    return getattr(_local, "trace", None)


def outgoing_headers() -> Dict[str, str]:
    """{"traceparent": ...} for a request made on an attempt's thread with a trace; {} otherwise."""
    t = current()
    return {"traceparent": t.outgoing} if t is not None and t.outgoing else {}
