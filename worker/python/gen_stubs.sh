#!/bin/sh
# Generates the Python protobuf + gRPC stubs of protocol v1 from proto/ into
# worker/python/gen/ (gitignored; never edit by hand). Needs Debian's
# python3-grpc-tools (or protobuf-compiler + the grpc plugin).
#   usage: worker/python/gen_stubs.sh [PROTO_DIR] [OUT_DIR]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
proto=${1:-"$here/../../proto"}
out=${2:-"$here/gen"}
python=${PYTHON:-/usr/bin/python3}
if [ ! -f "$proto/taskwire/v1/worker.proto" ]; then
  echo "gen_stubs.sh: no taskwire/v1/*.proto under $proto" >&2
  exit 1
fi
mkdir -p "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
tmp="$out.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp"
(cd "$proto" && "$python" -m grpc_tools.protoc -I . --python_out="$tmp" --grpc_python_out="$tmp" taskwire/v1/*.proto)
touch "$tmp/taskwire/__init__.py" "$tmp/taskwire/v1/__init__.py"
rm -rf "$out"
mv "$tmp" "$out"
echo "gen_stubs.sh: stubs in $out"
