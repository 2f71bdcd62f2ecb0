#!/bin/sh
# Builds and starts the Go worker with Debian's Go toolchain and libraries only
# (GOPATH mode, /usr/share/gocode; no module downloads): generates the code
# from proto/ if missing, builds into worker/go/.build (cached), runs it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build="$here/.build"
(
  if command -v flock > /dev/null 2>&1; then
    flock 9
  fi
  if [ ! -f "$here/gen/taskwirev1/worker.pb.go" ]; then
    "$here/gen_stubs.sh" >&2
  fi
  mkdir -p "$build/gopath/src/taskwire" "$build/cache"
  ln -sfn "$here" "$build/gopath/src/taskwire/worker"
  cd "$build/gopath/src/taskwire/worker"
  GO111MODULE=off GOFLAGS="" GOPATH="$build/gopath:/usr/share/gocode" GOCACHE="$build/cache" \
    go build -o "$build/taskwire-worker" . >&2
) 9> "$here/.gen.lock"
exec "$build/taskwire-worker" "$@"
