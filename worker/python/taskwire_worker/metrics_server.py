"""GET /metrics of the worker's registry (metrics.py) on a port of its own
(TASKWIRE_METRICS_PORT; 0: any free port), for Prometheus to scrape each
worker, as the TypeScript worker's worker/metrics-server.ts. Anything else is
404. A daemon thread; ``close()`` stops it."""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Tuple

from .metrics import WorkerMetrics

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class MetricsServer:
    def __init__(self, metrics: WorkerMetrics, worker_id: str, host: str, port: int, before: Callable[[], None]) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                if self.path.split("?")[0] != "/metrics":
                    self._send(404, "text/plain", b"not found\n")
                    return
                try:
                    before()
                    body = metrics.render(worker_id).encode()
                except Exception as err:  # noqa: BLE001 - a scrape gets a 500, the worker runs on
                    self._send(500, "text/plain", f"{err}\n".encode())
                    return
                self._send(200, CONTENT_TYPE, body)

            def _send(self, status: int, ctype: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("content-type", ctype)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:  # scrapes are not log lines
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics-server", daemon=True)
        self._thread.start()

    @property
    def address(self) -> Tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
