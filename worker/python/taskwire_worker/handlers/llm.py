"""`llm` against any OpenAI-compatible server (OpenAI, vLLM, llama.cpp, Ollama /v1).

Standard library HTTP only: POST {base}/chat/completions with stream=true,
read as server-sent events, each delta sent as a chunk. Input and output as in
docs/LLM.md. Errors map to PROVIDER_AUTH / PROVIDER_RATE_LIMIT /
PROVIDER_UNAVAILABLE / PROVIDER_ERROR / MODEL_NOT_FOUND / BAD_INPUT /
SAFETY_BLOCKED (PROTOCOL.md section 11.1). A user's own key arrives as the
secret `provider_api_key` (FetchSecrets), never on MQTT.
"""
import json
import re
import socket
import time
import urllib.error
import urllib.request
from typing import Any, Dict, List, Mapping, Optional

from ..errors import ConfigError, TaskFailure
from .. import tracing
from ..metrics import METRICS
from . import validate
from .base import Handler, Outcome, TaskContext

DEFAULT_BASE_URL = "https://api.openai.com/v1"
MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$")
ROLES = ("system", "user", "assistant")
INPUT_KEYS = ("messages", "model", "provider", "temperature", "top_p", "max_tokens", "stop")
REQUEST_TIMEOUT_S = 300


def _read_secret(env: Mapping[str, str], name: str) -> Optional[str]:
    if env.get(name):
        return env[name]
    path = env.get(f"{name}_FILE")
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().strip() or None
    except OSError as err:
        raise ConfigError(f"{name}_FILE", f"cannot read {path}: {err}") from None


def _redact(text: str, key: Optional[str]) -> str:
    return text.replace(key, "[redacted]") if key and len(key) >= 4 else text


def _http_failure(status: int, body: str, key: Optional[str]) -> TaskFailure:
    detail = body
    code_field = ""
    try:
        err = json.loads(body).get("error")
        if isinstance(err, dict):
            detail = str(err.get("message") or body)
            code_field = str(err.get("code") or err.get("type") or "")
        elif isinstance(err, str):
            detail = err
    except (ValueError, AttributeError):
        pass
    msg = f"openai: HTTP {status}: {_redact(' '.join(detail.split())[:500], key) or 'no details'}"
    if status in (401, 403):
        return TaskFailure("PROVIDER_AUTH", msg, False)
    if status == 429:
        return TaskFailure("PROVIDER_RATE_LIMIT", msg, "insufficient_quota" not in code_field)
    if status == 404:
        return TaskFailure("MODEL_NOT_FOUND", msg, False)
    if status in (400, 413, 422):
        return TaskFailure("BAD_INPUT", msg, False)
    if status == 408 or status >= 500:
        return TaskFailure("PROVIDER_UNAVAILABLE", msg, True)
    return TaskFailure("PROVIDER_ERROR", msg, False)


def _validate(inp: Any) -> Dict[str, Any]:
    inp = validate.obj(inp, INPUT_KEYS, ("messages",))
    msgs = inp["messages"]
    if not isinstance(msgs, list) or not 1 <= len(msgs) <= 256:
        raise TaskFailure("BAD_INPUT", "input.messages: 1 to 256 messages")
    total = 0
    for i, m in enumerate(msgs):
        validate.obj(m, ("role", "content"), ("role", "content"))
        if m["role"] not in ROLES:
            raise TaskFailure("BAD_INPUT", f"input.messages[{i}].role: one of {', '.join(ROLES)}")
        total += len(validate.string(m["content"], f"messages[{i}].content", 256 * 1024))
    if total > 1024 * 1024:
        raise TaskFailure("BAD_INPUT", "input.messages: more than 1048576 characters in total")
    if all(m["role"] == "system" for m in msgs):
        raise TaskFailure("BAD_INPUT", "input.messages: needs at least one user or assistant message")
    if "model" in inp and (not isinstance(inp["model"], str) or not MODEL_NAME.match(inp["model"]) or len(inp["model"]) > 200):
        raise TaskFailure("BAD_INPUT", "input.model: not a valid model name")
    if "provider" in inp and inp["provider"] not in ("gemini", "openai", "ollama"):
        raise TaskFailure("BAD_INPUT", "input.provider: gemini, openai or ollama")
    if "temperature" in inp:
        validate.number(inp["temperature"], "temperature", 0, 2)
    if "top_p" in inp:
        validate.number(inp["top_p"], "top_p", 0, 1)
    if "max_tokens" in inp:
        validate.integer(inp["max_tokens"], "max_tokens", 1, 1_000_000)
    if "stop" in inp:
        stop = inp["stop"]
        if not isinstance(stop, list) or len(stop) > 4 or not all(isinstance(s, str) and 0 < len(s) <= 256 for s in stop):
            raise TaskFailure("BAD_INPUT", "input.stop: up to 4 non-empty strings")
    return inp


class LlmHandler(Handler):
    kind = "llm"

    def __init__(self, base_url: str, api_key: Optional[str], models: List[str]) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.model_names = models

    @staticmethod
    def from_env(env: Mapping[str, str], log: Any) -> Optional["LlmHandler"]:
        """The handler when OPENAI_BASE_URL or OPENAI_API_KEY is set, else None."""
        key = _read_secret(env, "OPENAI_API_KEY")
        base = env.get("OPENAI_BASE_URL") or (DEFAULT_BASE_URL if key else None)
        if not base:
            return None
        if not re.match(r"^https?://", base):
            raise ConfigError("OPENAI_BASE_URL", f"must be an http(s) URL, got {base!r}")
        listed = [m.strip() for m in (env.get("OPENAI_MODELS") or "").split(",") if m.strip()]
        for m in listed:
            if not MODEL_NAME.match(m):
                raise ConfigError("OPENAI_MODELS", f"{m!r} is not a valid model name")
        handler = LlmHandler(base, key, listed)
        if not listed:
            try:
                timeout = int(env.get("TASKWIRE_LLM_DISCOVERY_MS") or "5000") / 1000
                handler.model_names = handler.discover(timeout)
            except (TaskFailure, OSError, ValueError) as err:
                log.warning("llm: model discovery at %s failed, not serving llm: %s", handler.base_url, err)
                return None
        if not handler.model_names:
            log.warning("llm: %s lists no models, not serving llm", handler.base_url)
            return None
        return handler

    def _headers(self, key: Optional[str]) -> Dict[str, str]:
        h = {"content-type": "application/json", "accept": "text/event-stream", **tracing.outgoing_headers()}
        if key:
            h["authorization"] = f"Bearer {key}"
        return h

    def discover(self, timeout_s: float) -> List[str]:
        req = urllib.request.Request(f"{self.base_url}/models", headers=self._headers(self.api_key))
        try:
            with urllib.request.urlopen(req, timeout=timeout_s) as res:
                data = json.loads(res.read(1024 * 1024))
        except urllib.error.HTTPError as err:
            raise _http_failure(err.code, err.read(65536).decode("utf-8", "replace"), self.api_key) from None
        ids = [m.get("id") for m in data.get("data", []) if isinstance(m, dict)]
        return list(dict.fromkeys(i for i in ids if isinstance(i, str) and i))

    def models(self) -> List[Dict[str, Any]]:
        return [{"kind": "llm", "name": m, "ready": True, "provider": "openai"} for m in self.model_names]

    def run(self, ctx: TaskContext) -> Outcome:
        inp = _validate(ctx.input)
        if inp.get("provider") not in (None, "openai"):
            raise TaskFailure("UNSUPPORTED", f"this worker has no {inp['provider']} provider", False)
        model = inp.get("model") or self.model_names[0]
        if model not in self.model_names:
            raise TaskFailure("MODEL_NOT_FOUND", f"model {model!r} is not served here", False)
        key = ctx.secrets().get("provider_api_key") if "provider_api_key" in ctx.secret_names else None
        key = key or self.api_key
        body: Dict[str, Any] = {"model": model, "messages": inp["messages"], "stream": True, "stream_options": {"include_usage": True}}
        for k in ("temperature", "top_p", "max_tokens", "stop"):
            if k in inp:
                body[k] = int(inp[k]) if k == "max_tokens" else inp[k]
        # A taskwire.provider.call span when the attempt is exported; the request's traceparent names it.
        call = tracing.provider_call("openai", model)
        headers = {**self._headers(key), **(call.headers() if call is not None else {})}
        req = urllib.request.Request(f"{self.base_url}/chat/completions", data=json.dumps(body).encode(), headers=headers, method="POST")
        started = time.monotonic()
        try:
            out, usage = self._stream(ctx, req, key, model, started, call)
        except Exception as err:  # noqa: BLE001 - counted, then raised as it was
            code = err.code if isinstance(err, TaskFailure) else "CANCELLED"
            METRICS.provider_call("openai", model, time.monotonic() - started, None, code, None)
            if call is not None:
                call.end(code, None)
            raise
        ttft = out.get("ttft_ms")
        METRICS.provider_call("openai", model, time.monotonic() - started, ttft / 1000 if ttft is not None else None, None, usage)
        if call is not None:
            call.end(None, usage)
        return out, usage

    def _stream(self, ctx: TaskContext, req: Any, key: Optional[str], model: str, started: float,
                call: Optional[tracing.ProviderCall]) -> Outcome:
        ttft_ms: Optional[float] = None
        parts: List[str] = []
        finish: Optional[str] = None
        usage: Optional[Dict[str, float]] = None
        answered_model = model
        try:
            res = urllib.request.urlopen(req, timeout=REQUEST_TIMEOUT_S)
        except urllib.error.HTTPError as err:
            raise _http_failure(err.code, err.read(65536).decode("utf-8", "replace"), key) from None
        except (urllib.error.URLError, OSError) as err:
            ctx.check()
            raise TaskFailure("PROVIDER_UNAVAILABLE", f"openai: {_redact(str(err), key)}", True) from None
        ctx.on_abort(lambda: _shutdown(res))
        done = False
        try:
            with res:
                for raw in res:
                    ctx.check()
                    line = raw.decode("utf-8", "replace").rstrip("\r\n")
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        done = True
                        break
                    try:
                        chunk = json.loads(data)
                    except ValueError:
                        raise TaskFailure("PROVIDER_ERROR", "openai: a stream event is not JSON", False) from None
                    if isinstance(chunk.get("error"), (dict, str)):
                        err = chunk["error"]
                        msg = err.get("message") if isinstance(err, dict) else err
                        raise TaskFailure("PROVIDER_ERROR", f"openai: {_redact(str(msg), key)[:500]}", False)
                    answered_model = chunk.get("model") or answered_model
                    u = chunk.get("usage")
                    if isinstance(u, dict) and "prompt_tokens" in u:
                        usage = {
                            "prompt_tokens": int(u.get("prompt_tokens") or 0),
                            "completion_tokens": int(u.get("completion_tokens") or 0),
                            "total_tokens": int(u.get("total_tokens") or (u.get("prompt_tokens") or 0) + (u.get("completion_tokens") or 0)),
                        }
                    for choice in chunk.get("choices") or []:
                        if (choice.get("index") or 0) != 0:
                            continue
                        text = (choice.get("delta") or {}).get("content")
                        if isinstance(text, str) and text:
                            if ttft_ms is None:
                                ttft_ms = round((time.monotonic() - started) * 1000, 1)
                                if call is not None:
                                    call.first_token()
                            parts.append(text)
                            ctx.emit(text=text)
                        if choice.get("finish_reason"):
                            finish = str(choice["finish_reason"]).lower()
                            if finish == "content_filter":
                                raise TaskFailure("SAFETY_BLOCKED", "openai withheld the answer (finish_reason content_filter)", False)
        except (OSError, ValueError) as err:
            ctx.check()
            raise TaskFailure("PROVIDER_UNAVAILABLE", f"openai: stream broken: {_redact(str(err), key)}", True) from None
        ctx.check()
        if not done and finish is None:
            raise TaskFailure("PROVIDER_UNAVAILABLE", "openai: the stream ended early", True)
        out = {"text": "".join(parts), "model": answered_model, "provider": "openai", "finish_reason": finish or "stop"}
        if ttft_ms is not None:
            out["ttft_ms"] = ttft_ms
        if usage is not None and ttft_ms is not None:
            usage["ttft_ms"] = ttft_ms
        return out, usage


def _shutdown(res: Any) -> None:
    """Unblocks a read in another thread by shutting the socket down."""
    try:
        sock = res.fp.raw._sock  # http.client.HTTPResponse -> SocketIO -> socket
        sock.shutdown(socket.SHUT_RDWR)
    except (AttributeError, OSError):
        try:
            res.close()
        except OSError:
            pass
