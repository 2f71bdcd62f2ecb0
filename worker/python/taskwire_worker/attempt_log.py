"""One info line when an attempt starts and one when it ends, with its task id
(PROTOCOL.md section 13.1): the `task_id` extra travels on {root}/logs/{worker id}
and the master keeps the line with the task (GET /api/v1/logs?task=ID). Only
the message and the task id travel, so what a task's page must show is in the
message as key=value words: kind, attempt, model; outcome, error code,
duration. None of them can hold a secret (no input, no error message).
Nothing is built when info is off (TASKWIRE_LOG_LEVEL=warn)."""
import logging
from typing import Any, Optional

from .stubs import result_service_pb2 as rs
from .stubs import task_pb2

# A handler's error code is its own string: cut so a line stays a line.
MAX_CODE_CHARS = 64


def model_of(kind: str, value: Any) -> Optional[str]:
    """The model a task names, as common/task-kinds.ts reads it (llm and embed: model, infer: model_name)."""
    if not isinstance(value, dict):
        return None
    field = {"llm": "model", "embed": "model", "infer": "model_name"}.get(kind)
    model = value.get(field) if field else None
    return model if isinstance(model, str) and model else None


def outcome_of(a: task_pb2.TaskAssignment, result: rs.TaskResult) -> str:
    """succeeded, failed, cancelled or timeout: past its deadline, seen here (DEADLINE_EXCEEDED)
    or as the master's CANCEL at that same deadline (its run timeout)."""
    if result.outcome == rs.TASK_OUTCOME_SUCCEEDED:
        return "succeeded"
    if result.error.code == "DEADLINE_EXCEEDED":
        return "timeout"
    if result.outcome == rs.TASK_OUTCOME_CANCELLED:
        return "timeout" if 0 < a.deadline_ms <= result.finished_at_ms else "cancelled"
    return "failed"


def enabled(log: logging.Logger) -> bool:
    return log.isEnabledFor(logging.INFO)


def started(log: logging.Logger, a: task_pb2.TaskAssignment, value: Any, trace_id: Optional[str]) -> None:
    model = model_of(a.kind, value)
    log.info("task started: kind=%s attempt=%d%s", a.kind, a.attempt, f" model={model}" if model else "",
             extra={"task_id": a.task_id, "trace_id": trace_id})


def ended(log: logging.Logger, a: task_pb2.TaskAssignment, result: rs.TaskResult, duration_ms: int,
          trace_id: Optional[str]) -> None:
    outcome = outcome_of(a, result)
    code = "" if outcome == "succeeded" else f" code={(result.error.code or 'UNKNOWN')[:MAX_CODE_CHARS]}"
    log.info("task ended: outcome=%s%s kind=%s attempt=%d duration_ms=%d", outcome, code, a.kind, a.attempt, duration_ms,
             extra={"task_id": a.task_id, "trace_id": trace_id})
