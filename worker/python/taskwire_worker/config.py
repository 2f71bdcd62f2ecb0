"""Worker configuration from TASKWIRE_* environment variables, validated once.

A wrong value raises ConfigError naming the variable. Same variables as the
TypeScript worker (docs/PROTOCOL.md, section 18 step 2).
"""
import os
import secrets
import socket
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional
from urllib.parse import urlsplit

from .errors import ConfigError
from .topics import DEFAULT_ROOT, ID_PATTERN, ROOT_PATTERN

DEFAULTS = {
    "capacity": 8,
    "shutdown_grace_ms": 10_000,
    "status_interval_ms": 15_000,
    "log_level": "info",
}
LOG_LEVELS = ("trace", "debug", "info", "warn", "error", "fatal", "silent")


@dataclass(frozen=True)
class WorkerConfig:
    worker_id: str
    mqtt_host: str
    mqtt_port: int
    mqtt_username: Optional[str]
    mqtt_password: Optional[str]
    # host:port of ResultService; None = from the retained MasterStatus.
    grpc_target: Optional[str]
    topic_root: str
    capacity: int
    kinds: Optional[List[str]]
    shutdown_grace_ms: int
    status_interval_ms: int
    health_file: str
    log_level: str
    labels: Dict[str, str] = field(default_factory=dict)
    # TASKWIRE_METRICS_SUMMARY=on: send the worker's metrics in its status (the master's /metrics shows them).
    metrics_summary: bool = False
    # TASKWIRE_METRICS_PORT: serve GET /metrics on this port (0: any free port, logged); None: no port.
    metrics_port: Optional[int] = None
    metrics_host: str = "0.0.0.0"
    # OTLP/HTTP traces endpoint (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces); None: no spans.
    otlp_endpoint: Optional[str] = None
    service_name: str = "taskwire-worker"
    # TASKWIRE_RESULT_ROUTE_IDLE_MS: a result_target's channel is closed after this long unused (multi-master).
    result_route_idle_ms: int = 30_000


def _secret(env: Mapping[str, str], name: str) -> Optional[str]:
    """NAME, or the contents of the file named by NAME_FILE (trailing whitespace dropped)."""
    value = env.get(name)
    path = env.get(f"{name}_FILE")
    if value:
        return value
    if path:
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read().strip()
        except OSError as err:
            raise ConfigError(f"{name}_FILE", f"cannot read {path}: {err}") from None
        return text or None
    return None


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        v = int(raw, 10)
    except ValueError:
        raise ConfigError(name, f"must be an integer, got {raw!r}") from None
    if not lo <= v <= hi:
        raise ConfigError(name, f"must be from {lo} to {hi}, got {v}")
    return v


def default_worker_id() -> str:
    host = "".join(c if c.isalnum() or c in "._-" else "-" for c in socket.gethostname())[:64] or "worker"
    if not host[0].isalnum():
        host = "w" + host
    return f"{host}-{os.getpid()}-{secrets.token_hex(3)}"


def from_env(env: Mapping[str, str]) -> WorkerConfig:
    worker_id = env.get("TASKWIRE_WORKER_ID") or default_worker_id()
    if not ID_PATTERN.match(worker_id):
        raise ConfigError("TASKWIRE_WORKER_ID", f"{worker_id!r} must match {ID_PATTERN.pattern}")
    master = env.get("TASKWIRE_MASTER") or "127.0.0.1"
    url = env.get("TASKWIRE_MQTT_URL") or f"mqtt://{master}:1883"
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
        raise ConfigError("TASKWIRE_MQTT_URL", f"expected mqtt://host:port, got {url!r}")
    try:
        port = parts.port or 1883
    except ValueError:
        raise ConfigError("TASKWIRE_MQTT_URL", f"bad port in {url!r}") from None
    password = _secret(env, "TASKWIRE_MQTT_PASSWORD") or _secret(env, "TASKWIRE_CLUSTER_TOKEN")
    username = env.get("TASKWIRE_MQTT_USERNAME") or (worker_id if password is not None else None)
    grpc = env.get("TASKWIRE_GRPC_URL")
    if grpc:
        for prefix in ("grpc://", "http://"):
            if grpc.startswith(prefix):
                grpc = grpc[len(prefix):]
        host, sep, gport = grpc.rpartition(":")
        if not sep or not host or not gport.isdigit() or not 0 < int(gport) < 65536:
            raise ConfigError("TASKWIRE_GRPC_URL", f"expected host:port, got {env.get('TASKWIRE_GRPC_URL')!r}")
    root = env.get("TASKWIRE_TOPIC_ROOT") or DEFAULT_ROOT
    if not ROOT_PATTERN.match(root) or root.startswith("$"):
        raise ConfigError("TASKWIRE_TOPIC_ROOT", f"{root!r} must be '/'-separated levels without wildcards")
    kinds_raw = env.get("TASKWIRE_WORKER_KINDS")
    kinds = [k.strip() for k in kinds_raw.split(",") if k.strip()] if kinds_raw else None
    level = (env.get("TASKWIRE_LOG_LEVEL") or DEFAULTS["log_level"]).lower()
    if level not in LOG_LEVELS:
        raise ConfigError("TASKWIRE_LOG_LEVEL", f"must be one of {', '.join(LOG_LEVELS)}")
    return WorkerConfig(
        worker_id=worker_id,
        mqtt_host=parts.hostname,
        mqtt_port=port,
        mqtt_username=username,
        mqtt_password=password,
        grpc_target=grpc or None,
        topic_root=root,
        capacity=_int(env, "TASKWIRE_WORKER_CAPACITY", DEFAULTS["capacity"], 1, 10_000),
        kinds=kinds,
        shutdown_grace_ms=_int(env, "TASKWIRE_SHUTDOWN_GRACE_MS", DEFAULTS["shutdown_grace_ms"], 0, 3_600_000),
        status_interval_ms=_int(env, "TASKWIRE_STATUS_INTERVAL_MS", DEFAULTS["status_interval_ms"], 100, 3_600_000),
        health_file=env.get("TASKWIRE_HEALTH_FILE") or os.path.join(os.environ.get("TMPDIR", "/tmp"), f"taskwire-worker-{worker_id}.health"),
        log_level=level,
        metrics_summary=_bool(env, "TASKWIRE_METRICS_SUMMARY"),
        metrics_port=_int(env, "TASKWIRE_METRICS_PORT", 0, 0, 65535) if env.get("TASKWIRE_METRICS_PORT") else None,
        metrics_host=env.get("TASKWIRE_METRICS_HOST") or "0.0.0.0",
        otlp_endpoint=_otlp_endpoint(env),
        service_name=env.get("OTEL_SERVICE_NAME") or "taskwire-worker",
        result_route_idle_ms=_int(env, "TASKWIRE_RESULT_ROUTE_IDLE_MS", 30_000, 100, 3_600_000),
    )


def _otlp_endpoint(env: Mapping[str, str]) -> Optional[str]:
    """The OpenTelemetry variables, as the TypeScript worker reads them (common/otel-tracing.ts)."""
    if (env.get("OTEL_SDK_DISABLED") or "").strip().lower() == "true" or (env.get("OTEL_TRACES_EXPORTER") or "").strip().lower() == "none":
        return None
    name, url = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", (env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or "").strip()
    if not url:
        name, url = "OTEL_EXPORTER_OTLP_ENDPOINT", (env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or "").strip()
        if not url:
            return None
        url = url.rstrip("/") + "/v1/traces"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(name, f"expected an http(s) URL, got {url!r}")
    return url


def _bool(env: Mapping[str, str], name: str) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw in ("", "0", "false", "off", "no"):
        return False
    if raw in ("1", "true", "on", "yes"):
        return True
    raise ConfigError(name, f"must be on or off, got {env.get(name)!r}")
