"""proto3 JSON on MQTT (PROTOCOL.md section 3).

Senders: original field names, int64 as strings, enums by name, defaults
omitted (json_format does all of it). Receivers: json_format.ParseDict with
ignore_unknown_fields accepts snake_case and lowerCamelCase names, integers
as numbers or strings, enums by name or number, and null; on top of it this
module enforces the size limits, UTF-8, finite numbers and 64 levels of nesting.
"""
import json
from typing import Any, Type, TypeVar

from google.protobuf import json_format, struct_pb2
from google.protobuf.message import Message

from .errors import InvalidMessage

M = TypeVar("M", bound=Message)

MAX_DEPTH = 64
MAX_BYTES = {
    "WorkerStatus": 64 * 1024,
    "Assignments": 4 * 1024 * 1024,
    "ControlCommand": 16 * 1024,
    "MasterStatus": 16 * 1024,
    "LogLine": 64 * 1024,
}


def _reject_constant(name: str) -> Any:
    raise InvalidMessage(f"non-finite number {name} in JSON")


def _depth(value: Any, level: int = 1) -> None:
    if level > MAX_DEPTH:
        raise InvalidMessage(f"JSON nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        for v in value.values():
            _depth(v, level + 1)
    elif isinstance(value, list):
        for v in value:
            _depth(v, level + 1)


def decode(payload: bytes, cls: Type[M]) -> M:
    """Parses one message; raises InvalidMessage for anything the protocol calls invalid."""
    name = cls.DESCRIPTOR.name
    limit = MAX_BYTES.get(name, 1024 * 1024)
    if len(payload) > limit:
        raise InvalidMessage(f"{name}: {len(payload)} bytes, more than {limit}")
    try:
        text = payload.decode("utf-8")
        obj = json.loads(text, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as err:
        raise InvalidMessage(f"{name}: not valid JSON: {err}") from None
    if not isinstance(obj, dict):
        raise InvalidMessage(f"{name}: payload is not a JSON object")
    _depth(obj)
    msg = cls()
    try:
        json_format.ParseDict(obj, msg, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError, AttributeError) as err:
        raise InvalidMessage(f"{name}: {err}") from None
    return msg


def encode(msg: Message) -> bytes:
    obj = json_format.MessageToDict(msg, preserving_proto_field_name=True)
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def value_to_py(value: struct_pb2.Value, present: bool) -> Any:
    """A google.protobuf.Value as plain JSON (None when the field is absent)."""
    if not present:
        return None
    return json_format.MessageToDict(value)


def py_to_value(obj: Any) -> struct_pb2.Value:
    v = struct_pb2.Value()
    json_format.ParseDict(obj, v)
    return v
