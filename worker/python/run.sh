#!/bin/sh
# Starts the Python worker: generates the stubs from proto/ if they are missing,
# then runs Debian's python3 (which has paho-mqtt, grpcio and protobuf).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-/usr/bin/python3}
if [ ! -f "$here/gen/taskwire/v1/worker_pb2.py" ]; then
  PYTHON="$python" "$here/gen_stubs.sh" >&2
fi
cd "$here"
exec "$python" -m taskwire_worker "$@"
