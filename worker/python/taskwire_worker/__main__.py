"""`python3 -m taskwire_worker`: runs one worker until SIGTERM/SIGINT."""
import logging
import os
import signal
import sys
import threading

from . import config as config_module
from .errors import ConfigError
from .handlers import image
from .handlers.echo import EchoHandler
from .handlers.llm import LlmHandler
from .handlers.sleep import SleepHandler
from .logs import setup


def main() -> int:
    try:
        cfg = config_module.from_env(os.environ)
    except ConfigError as err:
        print(f"taskwire worker: {err}", file=sys.stderr)
        return 2
    sink = setup(cfg.worker_id, cfg.log_level)
    log = logging.getLogger("taskwire.main")
    handlers = [EchoHandler(), SleepHandler()]
    handlers += [image.ImageHandler()] if image.available() else []  # Pillow (Debian python3-pil)
    try:
        llm = LlmHandler.from_env(os.environ, log) if cfg.kinds is None or "llm" in cfg.kinds else None
    except ConfigError as err:
        print(f"taskwire worker: {err}", file=sys.stderr)
        return 2
    if llm is not None:
        handlers.append(llm)
    from .worker import Worker  # after logging is set up

    worker = Worker(cfg, handlers, sink)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    worker.start()
    while not stop.wait(1.0):
        pass
    log.info("shutting down")
    worker.close()
    return 0


def run() -> None:
    """The `taskwire-worker` console command (pip install worker/python)."""
    sys.exit(main())


if __name__ == "__main__":
    run()
