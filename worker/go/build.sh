#!/bin/sh
# Builds the Go worker (a Go module: grpc-go, paho.mqtt.golang and protobuf-go
# from the module proxy, pinned by go.mod/go.sum) into
# worker/go/.build/taskwire-worker. The protocol code in gen/ is generated from
# proto/ by gen_stubs.sh and committed, so that `go install` works from a
# checkout; it is regenerated here only when a .proto file is newer and protoc
# is installed. Serialised with a lock, so that workers started together do not
# race. Set GOFLAGS=-mod=mod GOPROXY=off to build from the module cache alone.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build="$here/.build"
mkdir -p "$build"
(
  if command -v flock > /dev/null 2>&1; then
    flock 9
  fi
  stamp="$here/gen/taskwirev1/worker.pb.go"
  if command -v protoc > /dev/null 2>&1 && command -v protoc-gen-go > /dev/null 2>&1 \
    && { [ ! -f "$stamp" ] || [ -n "$(find "$here/../../proto" -name '*.proto' -newer "$stamp" 2> /dev/null)" ]; }; then
    "$here/gen_stubs.sh" >&2
  fi
  cd "$here"
  go build -trimpath -o "$build/taskwire-worker" . >&2
) 9> "$build/.lock"
