#!/bin/sh
# Starts the Python worker: generates the stubs from proto/ if they are missing
# (under a lock, so that workers started together do not race), then runs
# Debian's python3 (which has paho-mqtt, grpcio and protobuf).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-/usr/bin/python3}
stamp="$here/gen/taskwire/v1/worker_pb2.py"
# (Re)generate when the stubs are missing or older than a .proto file.
stale() {
  [ ! -f "$stamp" ] || [ -n "$(find "$here/../../proto" -name '*.proto' -newer "$stamp" 2> /dev/null)" ]
}
if stale; then
  (
    if command -v flock > /dev/null 2>&1; then
      flock 9
    fi
    if stale; then
      PYTHON="$python" "$here/gen_stubs.sh" >&2
    fi
  ) 9> "$here/.gen.lock"
fi
cd "$here"
exec "$python" -m taskwire_worker "$@"
