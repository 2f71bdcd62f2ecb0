"""Loads the generated protocol stubs (worker/python/gen, made by gen_stubs.sh)."""
import os
import sys

GEN_DIR = os.environ.get("TASKWIRE_PY_STUBS") or os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "gen")
if not os.path.isfile(os.path.join(GEN_DIR, "taskwire", "v1", "worker_pb2.py")):
    raise SystemExit(f"taskwire worker: no generated stubs in {GEN_DIR}: run worker/python/gen_stubs.sh first")
if GEN_DIR not in sys.path:
    sys.path.insert(0, GEN_DIR)

from taskwire.v1 import cluster_pb2, result_service_pb2, result_service_pb2_grpc, task_pb2, worker_pb2  # noqa: E402

__all__ = ["cluster_pb2", "result_service_pb2", "result_service_pb2_grpc", "task_pb2", "worker_pb2"]
