#!/bin/sh
# Starts the Python worker: generates the stubs from proto/ if they are missing
# (under a lock, so that workers started together do not race), then runs
# Debian's python3 (which has paho-mqtt, grpcio and protobuf).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-/usr/bin/python3}
if [ ! -f "$here/gen/taskwire/v1/worker_pb2.py" ]; then
  (
    if command -v flock > /dev/null 2>&1; then
      flock 9
    fi
    if [ ! -f "$here/gen/taskwire/v1/worker_pb2.py" ]; then
      PYTHON="$python" "$here/gen_stubs.sh" >&2
    fi
  ) 9> "$here/.gen.lock"
fi
cd "$here"
exec "$python" -m taskwire_worker "$@"
