#!/bin/sh
# Starts the Java worker from the jar that `mvn -B -q package` builds
# (worker/java/target/taskwire-worker.jar, dependencies shaded in).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
jar="$here/target/taskwire-worker.jar"
if [ ! -f "$jar" ]; then
  echo "run.sh: $jar is not built (cd worker/java && mvn -B -q package)" >&2
  exit 2
fi
# shellcheck disable=SC2086 # JAVA_OPTS holds several options
exec java ${JAVA_OPTS:-} -jar "$jar" "$@"
