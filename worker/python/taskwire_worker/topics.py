"""Topic names of protocol v1 (PROTOCOL.md section 4), built only here."""
import re

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
ROOT_PATTERN = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")
DEFAULT_ROOT = "taskwire/v1"


class Topics:
    def __init__(self, root: str, worker_id: str) -> None:
        self.root = root
        self.worker_id = worker_id
        self.status = f"{root}/workers/{worker_id}/status"
        self.tasks = f"{root}/workers/{worker_id}/tasks"
        self.control = f"{root}/workers/{worker_id}/control"
        self.master_status = f"{root}/master/status"
        self.log = f"{root}/logs/{worker_id}"
