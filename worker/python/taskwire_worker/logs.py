"""Logging: JSON lines on stderr, and LogLine messages on {root}/logs/{worker_id}
(QoS 0, info and above, PROTOCOL.md section 13.1)."""
import json
import logging
import sys
from datetime import datetime, timezone
from typing import Callable, Optional

LEVELS = {"trace": 5, "debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING,
          "error": logging.ERROR, "fatal": logging.CRITICAL, "silent": logging.CRITICAL + 10}
NAMES = {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warn", logging.ERROR: "error", logging.CRITICAL: "fatal"}


def _line(record: logging.LogRecord, source: str) -> dict:
    ts = datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    out = {"ts": ts, "level": NAMES.get(record.levelno, "info"), "source": source, "msg": record.getMessage()}
    task_id = getattr(record, "task_id", None)
    if task_id:
        out["task_id"] = task_id
    trace_id = getattr(record, "trace_id", None)
    if trace_id:
        out["trace_id"] = trace_id
    return out


class JsonFormatter(logging.Formatter):
    def __init__(self, source: str) -> None:
        super().__init__()
        self.source = source

    def format(self, record: logging.LogRecord) -> str:
        line = _line(record, self.source)
        if record.exc_info:
            line["err"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class MqttLogHandler(logging.Handler):
    """Forwards records to a publish function (set once MQTT is connected)."""

    def __init__(self, source: str) -> None:
        super().__init__(logging.INFO)
        self.source = source
        self.publish: Optional[Callable[[dict], None]] = None

    def emit(self, record: logging.LogRecord) -> None:
        publish = self.publish
        if publish is None:
            return
        try:
            publish(_line(record, self.source))
        except Exception:  # noqa: BLE001 - logging never raises
            pass


def setup(source: str, level: str) -> MqttLogHandler:
    root = logging.getLogger("taskwire")
    root.setLevel(LEVELS.get(level, logging.INFO))
    root.propagate = False
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setFormatter(JsonFormatter(source))
    root.addHandler(stderr)
    mqtt = MqttLogHandler(source)
    root.addHandler(mqtt)
    return mqtt
