#!/bin/sh
# Builds (cached) and starts the Go worker; see build.sh.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
"$here/build.sh"
exec "$here/.build/taskwire-worker" "$@"
