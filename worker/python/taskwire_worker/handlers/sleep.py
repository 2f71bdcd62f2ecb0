"""`sleep`: waits `ms`, streams nothing (PROTOCOL.md section 7.4)."""
import time

from . import validate
from .base import Handler, Outcome, TaskContext

MAX_MS = 24 * 60 * 60 * 1000


class SleepHandler(Handler):
    kind = "sleep"

    def run(self, ctx: TaskContext) -> Outcome:
        inp = validate.obj(ctx.input, ("ms",), ("ms",))
        ms = validate.integer(inp["ms"], "ms", 0, MAX_MS)
        start = time.monotonic()
        ctx.wait(ms / 1000)
        return {"slept_ms": round((time.monotonic() - start) * 1000)}, None
