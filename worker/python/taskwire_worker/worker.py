"""The worker: MQTT presence and assignments (PROTOCOL.md sections 6, 7, 10, 12).

Connects with client id = username = worker id, clean session, keep-alive
10 s and an OFFLINE Last Will; on every (re)connect subscribes to its tasks,
control and master/status topics, waits for the SUBACK, then publishes its
retained ONLINE status. paho runs callbacks on its network thread; attempts run
in their own threads.
"""
import json
import logging
import os
import socket
import threading
import time
from typing import Any, Dict, List, Optional

import paho.mqtt.client as mqtt

from . import LANGUAGE, PROTOCOL, VERSION, codec
from .config import WorkerConfig
from .errors import InvalidMessage
from .handlers.base import Handler
from .logs import MqttLogHandler
from .metrics import METRICS
from .reporter import Reporter
from .routes import Routes, result_target
from .runner import Runner, now_ms
from .stubs import cluster_pb2, task_pb2, worker_pb2
from .topics import Topics

log = logging.getLogger("taskwire.worker")

ONLINE, DRAINING, OFFLINE = worker_pb2.WORKER_STATE_ONLINE, worker_pb2.WORKER_STATE_DRAINING, worker_pb2.WORKER_STATE_OFFLINE
STATUS_SOON_S = 0.25
HEALTH_EVERY_S = 5.0


class Worker:
    def __init__(self, config: WorkerConfig, handlers: List[Handler], log_sink: Optional[MqttLogHandler] = None) -> None:
        self.config = config
        self.id = config.worker_id
        self.topics = Topics(config.topic_root, self.id)
        self.started_at_ms = now_ms()
        self.hostname = socket.gethostname()
        self.handlers: Dict[str, Handler] = {h.kind: h for h in handlers if config.kinds is None or h.kind in config.kinds}
        self.reporter = Reporter()
        # Multi-master: a reporter per Assignments.result_target (docs/MULTI_MASTER.md).
        idle_s = config.result_route_idle_ms / 1000
        self.routes = Routes(idle_s, min(5.0, idle_s))
        self.runner = Runner(self.id, self.handlers, self.reporter, self.status_soon, self.routes)
        self.state = ONLINE
        # Why it drains, as DRAIN said (kept in re-published statuses).
        self.reason = ""
        self.closing = False
        self._lock = threading.Lock()
        self._sub_mid: Optional[int] = None
        self._status_due: Optional[float] = None
        self._stop = threading.Event()
        self._log_sink = log_sink
        # paho-mqtt 2.x (PyPI) takes the callback API version first; 1.x (Debian bookworm) has none.
        api = (mqtt.CallbackAPIVersion.VERSION1,) if hasattr(mqtt, "CallbackAPIVersion") else ()
        self.client = mqtt.Client(*api, client_id=self.id, clean_session=True, protocol=mqtt.MQTTv311)
        if config.mqtt_username is not None or config.mqtt_password is not None:
            self.client.username_pw_set(config.mqtt_username or self.id, config.mqtt_password)
        self.client.will_set(self.topics.status, codec.encode(self.status(OFFLINE, "connection lost")), qos=1, retain=True)
        self.client.reconnect_delay_set(min_delay=0.5, max_delay=2)
        self.client.on_socket_open = self._on_socket_open
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect

    # -- status ---------------------------------------------------------------

    def status(self, state: int, reason: str = "", with_summary: bool = True) -> worker_pb2.WorkerStatus:
        """with_summary: the metrics summary goes along (the periodic and the connect status); the
        coalesced running-count updates leave it out (the master keeps the last)."""
        s = worker_pb2.WorkerStatus(
            worker_id=self.id, state=state, kinds=sorted(self.handlers), capacity=self.config.capacity,
            running=self.runner.size, language=LANGUAGE, version=VERSION,
            protocol=PROTOCOL, hostname=self.hostname, pid=os.getpid(), started_at_ms=self.started_at_ms,
            ts_ms=now_ms(), labels=self.config.labels, reason=reason)
        for h in self.handlers.values():
            for m in h.models():
                s.models.add(**m)
            s.features.extend(h.features())
        if with_summary and self.config.metrics_summary and state != OFFLINE:
            METRICS.set_gauge("taskwire_worker_tasks_running", self.runner.size)
            METRICS.set_gauge("taskwire_worker_capacity", self.config.capacity)
            s.metrics.CopyFrom(METRICS.summary())
        return s

    def publish_status(self, with_summary: bool = True) -> Optional[mqtt.MQTTMessageInfo]:
        if self.closing or not self.client.is_connected():
            return None
        return self.client.publish(self.topics.status, codec.encode(self.status(self.state, self.reason, with_summary)), qos=1, retain=True)

    def status_soon(self) -> None:
        with self._lock:
            if self._status_due is None:
                self._status_due = time.monotonic() + STATUS_SOON_S

    # -- MQTT callbacks (paho's network thread) -------------------------------

    def _on_socket_open(self, _client: Any, _userdata: Any, sock: Any) -> None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass

    def _on_connect(self, client: mqtt.Client, _userdata: Any, _flags: Any, rc: int) -> None:
        if rc != 0:
            log.warning("MQTT connection refused: %s", mqtt.connack_string(rc))
            return
        t = self.topics
        result, mid = client.subscribe([(t.tasks, 1), (t.control, 1), (t.master_status, 1)])
        if result == mqtt.MQTT_ERR_SUCCESS:
            self._sub_mid = mid

    def _on_subscribe(self, _client: Any, _userdata: Any, mid: int, granted: Any) -> None:
        if mid != self._sub_mid:
            return
        if any(q == 128 for q in granted):
            log.error("the broker refused a subscription (check credentials and ACL): %s", list(granted))
        if self._log_sink is not None:
            self._log_sink.publish = self._publish_log
        self.publish_status()
        log.info("worker online")

    def _on_disconnect(self, _client: Any, _userdata: Any, rc: int) -> None:
        if rc != 0 and not self.closing:
            log.warning("MQTT connection lost (%s); reconnecting", mqtt.error_string(rc))

    def _on_message(self, _client: Any, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            if msg.topic == self.topics.master_status:
                self._on_master_status(msg.payload)
            elif msg.topic == self.topics.tasks:
                self._on_tasks(msg.payload)
            elif msg.topic == self.topics.control:
                self._on_control(msg.payload)
        except InvalidMessage as err:
            log.warning("invalid message dropped on %s: %s", msg.topic, err)
        except Exception:  # noqa: BLE001 - never crash on input
            log.exception("message on %s dropped", msg.topic)

    def _on_master_status(self, payload: bytes) -> None:
        if not payload or self.config.grpc_target:
            return
        m = codec.decode(payload, cluster_pb2.MasterStatus)
        if m.state != cluster_pb2.MASTER_STATE_ONLINE or m.grpc_port == 0:
            return
        host = m.grpc_host or self.config.mqtt_host
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        self.reporter.set_target(f"{host}:{m.grpc_port}")

    def _on_tasks(self, payload: bytes) -> None:
        batch = codec.decode(payload, task_pb2.Assignments)
        if not batch.tasks:
            raise InvalidMessage("an Assignments message carries at least one task")
        for a in batch.tasks:
            if not a.task_id or not a.kind or not a.result_token or a.attempt < 1:
                raise InvalidMessage("assignment without task_id, kind, attempt or result_token")
        # Multi-master: this message's master takes these attempts' results.
        target = result_target(batch.result_target, self.config.mqtt_host)
        for a in batch.tasks:
            if not self.runner.start(a, target):
                log.info("duplicate assignment ignored", extra={"task_id": a.task_id})
        self.status_soon()

    def _on_control(self, payload: bytes) -> None:
        c = codec.decode(payload, task_pb2.ControlCommand)
        if c.action == task_pb2.CONTROL_ACTION_CANCEL:
            if not self.runner.cancel(c.task_id, c.attempt, c.reason):
                log.debug("cancel for an attempt not running here", extra={"task_id": c.task_id})
        elif c.action == task_pb2.CONTROL_ACTION_DRAIN:
            if self.state == ONLINE:
                self.state, self.reason = DRAINING, c.reason
                self.publish_status()
                log.info("draining")
        elif c.action == task_pb2.CONTROL_ACTION_RESUME:
            if self.state == DRAINING:
                self.state, self.reason = ONLINE, ""
                self.publish_status()
                log.info("resumed")
        else:
            log.debug("control action %s ignored", c.action)

    def _publish_log(self, line: Dict[str, Any]) -> None:
        if self.client.is_connected():
            self.client.publish(self.topics.log, json.dumps(line, separators=(",", ":"), ensure_ascii=False), qos=0)

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> None:
        if self.config.grpc_target:
            self.reporter.set_target(self.config.grpc_target)
        self.client.connect_async(self.config.mqtt_host, self.config.mqtt_port, keepalive=10)
        self.client.loop_start()
        threading.Thread(target=self._ticker, name="status-ticker", daemon=True).start()
        log.info("worker starting: mqtt %s:%d, kinds %s, capacity %d", self.config.mqtt_host, self.config.mqtt_port,
                 ",".join(sorted(self.handlers)), self.config.capacity)

    def _ticker(self) -> None:
        next_status = time.monotonic() + self.config.status_interval_ms / 1000
        next_health = 0.0
        while not self._stop.wait(0.05):
            now = time.monotonic()
            with self._lock:
                due = self._status_due is not None and now >= self._status_due
                if due:
                    self._status_due = None
            periodic = now >= next_status
            if due or periodic:
                self.publish_status(with_summary=periodic)
            if periodic:
                next_status = now + self.config.status_interval_ms / 1000
            if now >= next_health:
                self._write_health()
                next_health = now + HEALTH_EVERY_S

    def _write_health(self) -> None:
        body = {"worker_id": self.id, "state": worker_pb2.WorkerState.Name(self.state), "mqtt": self.client.is_connected(),
                "running": self.runner.size, "ts_ms": now_ms()}
        try:
            tmp = f"{self.config.health_file}.tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(body, f)
            os.replace(tmp, self.config.health_file)
        except OSError:
            pass

    def close(self) -> None:
        """Graceful stop (section 12): DRAINING, finish or hand back, confirm finals, OFFLINE, DISCONNECT."""
        if self.closing:
            return
        self.state, self.reason = DRAINING, "shutdown"
        info = self.publish_status()
        if info is not None:
            info.wait_for_publish(2)
        grace = self.config.shutdown_grace_ms / 1000
        deliver = max(1.0, min(grace, 5.0))
        self.runner.shutdown(grace, deliver)
        until = time.monotonic() + deliver
        self.reporter.wait_confirmed(deliver)
        self.routes.wait_confirmed(max(0.0, until - time.monotonic()))
        self.closing = True
        self._stop.set()
        if self._log_sink is not None:
            self._log_sink.publish = None
        if self.client.is_connected():
            info = self.client.publish(self.topics.status, codec.encode(self.status(OFFLINE, "shutdown")), qos=1, retain=True)
            try:
                info.wait_for_publish(3)
            except (RuntimeError, ValueError):
                pass
        self.client.disconnect()
        self.client.loop_stop()
        self.reporter.close()
        self.routes.close()
        try:
            os.remove(self.config.health_file)
        except OSError:
            pass
