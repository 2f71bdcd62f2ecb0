"""Strict input checks for handlers: unknown keys and wrong types are BAD_INPUT."""
from typing import Any, Dict, Iterable

from ..errors import TaskFailure


def obj(value: Any, allowed: Iterable[str], required: Iterable[str] = ()) -> Dict[str, Any]:
    if not isinstance(value, dict):
        raise TaskFailure("BAD_INPUT", "input: expected an object")
    extra = sorted(set(value) - set(allowed))
    if extra:
        raise TaskFailure("BAD_INPUT", f"input: unknown key(s) {', '.join(extra)}")
    for k in required:
        if k not in value:
            raise TaskFailure("BAD_INPUT", f"input.{k}: required")
    return value


def integer(value: Any, name: str, lo: int, hi: int) -> int:
    # JSON numbers arrive as floats through google.protobuf.Value.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(value, float) and not value.is_integer()):
        raise TaskFailure("BAD_INPUT", f"input.{name}: expected an integer")
    v = int(value)
    if not lo <= v <= hi:
        raise TaskFailure("BAD_INPUT", f"input.{name}: must be from {lo} to {hi}")
    return v


def number(value: Any, name: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        raise TaskFailure("BAD_INPUT", f"input.{name}: expected a number from {lo} to {hi}")
    return float(value)


def string(value: Any, name: str, max_len: int) -> str:
    if not isinstance(value, str):
        raise TaskFailure("BAD_INPUT", f"input.{name}: expected a string")
    if len(value) > max_len:
        raise TaskFailure("BAD_INPUT", f"input.{name}: longer than {max_len} characters")
    return value
