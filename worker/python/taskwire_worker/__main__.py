"""`python3 -m taskwire_worker`: runs one worker until SIGTERM/SIGINT."""
import logging
import os
import signal
import sys
import threading

from . import config as config_module
from . import tracing
from .errors import ConfigError
from .handlers import image
from .handlers.echo import EchoHandler
from .handlers.llm import LlmHandler
from .handlers.sleep import SleepHandler
from .logs import setup
from .metrics import METRICS
from .metrics_server import MetricsServer


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
    tracer = tracing.configure(cfg.otlp_endpoint, cfg.service_name, cfg.worker_id)
    metrics_server = None
    if cfg.metrics_port is not None:
        def gauges() -> None:
            METRICS.set_gauge("taskwire_worker_tasks_running", worker.runner.size)
            METRICS.set_gauge("taskwire_worker_capacity", cfg.capacity)
        try:
            metrics_server = MetricsServer(METRICS, cfg.worker_id, cfg.metrics_host, cfg.metrics_port, gauges)
        except OSError as err:
            print(f"taskwire worker: TASKWIRE_METRICS_PORT: {err}", file=sys.stderr)
            return 2
        gauges()
        host, port = metrics_server.address
        log.info("metrics on http://%s:%d/metrics", host, port)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    worker.start()
    while not stop.wait(1.0):
        pass
    log.info("shutting down")
    worker.close()
    if metrics_server is not None:
        metrics_server.close()
    if tracer is not None:
        tracer.close()
    return 0


def run() -> None:
    """The `taskwire-worker` console command (pip install worker/python)."""
    sys.exit(main())


if __name__ == "__main__":
    run()
