#!/bin/sh
# Builds the Go worker into worker/go/.build/taskwire-worker with Debian's Go
# toolchain and libraries only: GOPATH mode over /usr/share/gocode, no module
# downloads. Generates the protocol code from proto/ first if it is missing.
# Serialised with a lock, so that workers started together do not race.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build="$here/.build"
mkdir -p "$build"
(
  if command -v flock > /dev/null 2>&1; then
    flock 9
  fi
  stamp="$here/gen/taskwirev1/worker.pb.go"
  # (Re)generate when the code is missing or older than a .proto file.
  if [ ! -f "$stamp" ] || [ -n "$(find "$here/../../proto" -name '*.proto' -newer "$stamp" 2> /dev/null)" ]; then
    "$here/gen_stubs.sh" >&2
  fi
  mkdir -p "$build/gopath/src/taskwire" "$build/cache"
  ln -sfn "$here" "$build/gopath/src/taskwire/worker"
  cd "$build/gopath/src/taskwire/worker"
  GO111MODULE=off GOFLAGS="" GOPATH="$build/gopath:/usr/share/gocode" GOCACHE="$build/cache" \
    go build -o "$build/taskwire-worker" . >&2
) 9> "$build/.lock"
