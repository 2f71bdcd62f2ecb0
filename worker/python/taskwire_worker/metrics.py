"""The worker's own metrics, with the same names, labels and bucket bounds as
the TypeScript worker (docs/OBSERVABILITY.md): attempts by kind and outcome,
failures by code, handler time, provider calls (latency, time to first token,
tokens, errors by code), running and capacity. A small thread-safe registry
of its own (no client library needed): ``summary()`` is the
``WorkerStatus.metrics`` the worker sends when TASKWIRE_METRICS_SUMMARY is
on (the master shows it on its /metrics by worker_id); ``render()`` is the
Prometheus text format the worker serves on TASKWIRE_METRICS_PORT
(metrics_server.py), every series with a ``worker_id`` label. Both carry the
process's CPU seconds and resident memory (taskwire_worker_process_*)."""
import math
import os
import re
import threading
from typing import Dict, Iterable, List, Optional, Tuple

from .stubs import worker_pb2

CODE = re.compile(r"^[A-Z][A-Z0-9_]{0,47}$")
HANDLER_BUCKETS = [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600]
PROVIDER_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]
TTFT_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

Labels = Tuple[Tuple[str, str], ...]


def code_label(code: Optional[str]) -> str:
    return code if code and CODE.match(code) else "OTHER"


class Family:
    def __init__(self, name: str, kind: str, help_text: str, bounds: Optional[List[float]] = None) -> None:
        self.name, self.kind, self.help, self.bounds = name, kind, help_text, bounds or []
        self.values: Dict[Labels, List[float]] = {}  # counter/gauge: [v]; histogram: [sum, count, *buckets]

    def _slot(self, labels: Dict[str, str]) -> List[float]:
        key = tuple(sorted(labels.items()))
        slot = self.values.get(key)
        if slot is None:
            slot = self.values[key] = [0.0] if self.kind != "histogram" else [0.0, 0.0] + [0.0] * len(self.bounds)
        return slot


class WorkerMetrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.families: Dict[str, Family] = {}
        f = self.families
        for name, kind, help_text, bounds in [
            ("taskwire_worker_tasks_total", "counter", "Attempts this worker finished, by kind and outcome", None),
            ("taskwire_worker_task_failures_total", "counter", "Failed attempts by kind and error code", None),
            ("taskwire_worker_handler_seconds", "histogram", "Handler time of an attempt (start to final), by kind and outcome", HANDLER_BUCKETS),
            ("taskwire_worker_provider_requests_total", "counter", "LLM provider calls, by provider, model and outcome (ok, error)", None),
            ("taskwire_worker_provider_errors_total", "counter", "Failed LLM provider calls, by provider and error code", None),
            ("taskwire_worker_provider_request_seconds", "histogram", "LLM provider call, request to the end of the answer (or the failure), by provider and model", PROVIDER_BUCKETS),
            ("taskwire_worker_provider_time_to_first_token_seconds", "histogram", "LLM provider call, request to the first streamed token, by provider and model", TTFT_BUCKETS),
            ("taskwire_worker_llm_prompt_tokens_total", "counter", "Prompt (input) tokens the provider reported, by provider and model", None),
            ("taskwire_worker_llm_completion_tokens_total", "counter", "Completion (output) tokens the provider reported, by provider and model", None),
            ("taskwire_worker_tasks_running", "gauge", "Attempts running now", None),
            ("taskwire_worker_capacity", "gauge", "Attempts this worker runs at once", None),
        ]:
            f[name] = Family(name, kind, help_text, bounds)

    def _inc(self, name: str, labels: Dict[str, str], v: float = 1.0) -> None:
        self.families[name]._slot(labels)[0] += v

    def _observe(self, name: str, labels: Dict[str, str], v: float) -> None:
        fam = self.families[name]
        slot = fam._slot(labels)
        slot[0] += v
        slot[1] += 1
        for i, b in enumerate(fam.bounds):
            if v <= b:
                slot[2 + i] += 1

    def set_gauge(self, name: str, v: float) -> None:
        with self._lock:
            self.families[name]._slot({})[0] = v

    def attempt(self, kind: str, outcome: str, seconds: float, code: Optional[str]) -> None:
        with self._lock:
            self._inc("taskwire_worker_tasks_total", {"kind": kind, "outcome": outcome})
            self._observe("taskwire_worker_handler_seconds", {"kind": kind, "outcome": outcome}, max(0.0, seconds))
            if outcome == "failed":
                self._inc("taskwire_worker_task_failures_total", {"kind": kind, "code": code_label(code)})

    def provider_call(self, provider: str, model: str, seconds: float, ttft_s: Optional[float], code: Optional[str], usage: Optional[Dict[str, float]]) -> None:
        pm = {"provider": provider, "model": model}
        with self._lock:
            self._inc("taskwire_worker_provider_requests_total", {**pm, "outcome": "error" if code else "ok"})
            self._observe("taskwire_worker_provider_request_seconds", pm, max(0.0, seconds))
            if ttft_s is not None:
                self._observe("taskwire_worker_provider_time_to_first_token_seconds", pm, max(0.0, ttft_s))
            if code:
                self._inc("taskwire_worker_provider_errors_total", {"provider": provider, "code": code_label(code)})
            if usage:
                if usage.get("prompt_tokens", 0) > 0:
                    self._inc("taskwire_worker_llm_prompt_tokens_total", pm, float(usage["prompt_tokens"]))
                if usage.get("completion_tokens", 0) > 0:
                    self._inc("taskwire_worker_llm_completion_tokens_total", pm, float(usage["completion_tokens"]))

    def _snapshot(self) -> Iterable[Tuple[Family, List[Tuple[Labels, List[float]]]]]:
        with self._lock:
            out = [(f, [(k, list(v)) for k, v in f.values.items()]) for f in self.families.values()]
        return out + _process_families()

    def render(self, worker_id: str) -> str:
        """The Prometheus text format (0.0.4) of every family with samples, labelled by worker_id."""
        lines: List[str] = []
        for fam, series in self._snapshot():
            if not series:
                continue
            lines.append(f"# HELP {fam.name} {_escape_help(fam.help)}")
            lines.append(f"# TYPE {fam.name} {fam.kind}")
            for labels, v in sorted(series):
                base = [("worker_id", worker_id)] + [kv for kv in labels if kv[0] != "worker_id"]
                if fam.kind != "histogram":
                    lines.append(f"{fam.name}{_labels(base)} {_num(v[0])}")
                    continue
                for b, n in zip(fam.bounds, v[2:]):
                    lines.append(f"{fam.name}_bucket{_labels(base + [('le', _num(b))])} {_num(n)}")
                lines.append(f"{fam.name}_bucket{_labels(base + [('le', '+Inf')])} {_num(v[1])}")
                lines.append(f"{fam.name}_sum{_labels(base)} {_num(v[0])}")
                lines.append(f"{fam.name}_count{_labels(base)} {_num(v[1])}")
        return "\n".join(lines) + "\n"

    def summary(self) -> worker_pb2.MetricsSummary:
        types = {"counter": worker_pb2.METRIC_TYPE_COUNTER, "gauge": worker_pb2.METRIC_TYPE_GAUGE, "histogram": worker_pb2.METRIC_TYPE_HISTOGRAM}
        out = worker_pb2.MetricsSummary()
        for fam, series in self._snapshot():
            if not series:
                continue
            f = out.families.add(name=fam.name, type=types[fam.kind], help=fam.help, bounds=fam.bounds)
            for labels, v in series:
                s = f.samples.add(labels=dict(labels), value=v[0])
                if fam.kind == "histogram":
                    s.count = v[1]
                    s.buckets.extend(v[2:])
        return out


def _num(v: float) -> str:
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if math.isnan(v):
        return "NaN"
    return str(int(v)) if v == int(v) and abs(v) < 1e15 else repr(float(v))


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _labels(pairs: List[Tuple[str, str]]) -> str:
    if not pairs:
        return ""
    esc = (f'{k}="{str(v).replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34)).replace(chr(10), chr(92) + "n")}"' for k, v in pairs)
    return "{" + ",".join(esc) + "}"


def _process_families() -> List[Tuple[Family, List[Tuple[Labels, List[float]]]]]:
    """CPU seconds (user + system) and resident memory of this process, read now (Linux /proc)."""
    out: List[Tuple[Family, List[Tuple[Labels, List[float]]]]] = []
    t = os.times()
    out.append((Family("taskwire_worker_process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds."), [((), [t.user + t.system])]))
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        out.append((Family("taskwire_worker_process_resident_memory_bytes", "gauge", "Resident memory size in bytes."), [((), [float(rss)])]))
    except (OSError, ValueError, IndexError):
        pass
    return out


METRICS = WorkerMetrics()
