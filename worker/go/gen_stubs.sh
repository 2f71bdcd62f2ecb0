#!/bin/sh
# Generates the Go protobuf + gRPC code of protocol v1 from proto/ into
# worker/go/gen/taskwirev1 (committed, so that `go install` works; never edit by hand) with Debian's
# protobuf-compiler, protoc-gen-go and protoc-gen-go-grpc. The .proto files
# declare no go_package, so it is given with M options (docs/PROTOCOL.md section 19).
#   usage: worker/go/gen_stubs.sh [PROTO_DIR] [OUT_DIR]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
proto=${1:-"$here/../../proto"}
out=${2:-"$here/gen/taskwirev1"}
pkg="taskwire/taskwire-worker/gen/taskwirev1"
if [ ! -f "$proto/taskwire/v1/worker.proto" ]; then
  echo "gen_stubs.sh: no taskwire/v1/*.proto under $proto" >&2
  exit 1
fi
mkdir -p "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
tmp="$out.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp"
set --
for f in worker task result_service cluster; do
  set -- "$@" "--go_opt=Mtaskwire/v1/$f.proto=$pkg;taskwirev1" "--go-grpc_opt=Mtaskwire/v1/$f.proto=$pkg;taskwirev1"
done
(cd "$proto" && protoc -I . --go_out="$tmp" --go_opt=paths=source_relative \
  --go-grpc_out="$tmp" --go-grpc_opt=paths=source_relative "$@" taskwire/v1/*.proto)
rm -rf "$out"
mv "$tmp/taskwire/v1" "$out"
rm -rf "$tmp"
echo "gen_stubs.sh: Go code in $out"
