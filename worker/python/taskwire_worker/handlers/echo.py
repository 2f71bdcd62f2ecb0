"""`echo`: streams the text word by word (PROTOCOL.md section 7.4)."""
import re

from . import validate
from .base import Handler, Outcome, TaskContext

MAX_TEXT = 1024 * 1024
WORDS = re.compile(r"\S+\s*|\s+")


class EchoHandler(Handler):
    kind = "echo"

    def run(self, ctx: TaskContext) -> Outcome:
        inp = validate.obj(ctx.input, ("text", "delay_ms"), ("text",))
        text = validate.string(inp["text"], "text", MAX_TEXT)
        delay_ms = validate.integer(inp["delay_ms"], "delay_ms", 0, 10_000) if "delay_ms" in inp else 0
        for i, word in enumerate(WORDS.findall(text)):
            if i > 0 and delay_ms:
                ctx.wait(delay_ms / 1000)
            ctx.emit(text=word)
        return {"text": text}, None
