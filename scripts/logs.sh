#!/usr/bin/env bash
# Shows the logs of the stack's services.
set -euo pipefail
TW_PROG=logs.sh
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF_USAGE'
Usage: scripts/logs.sh [SERVICE] [--follow] [--since DURATION] [--tail N]

Prints the logs of SERVICE (mosquitto, master, worker, worker-llm), or of
every service of the stack when none is given (docker service logs, so
replicas on every node are included, each line prefixed with its task).
Master and worker lines are JSON (pino); pipe them to `npx pino-pretty` or jq.

Options:
  -f, --follow        keep streaming
  --since DURATION    only lines newer than this (e.g. 10m, 2h; default 30m)
  --tail N            at most N lines per service (default 200)
  -h, --help          show this help
EOF_USAGE
}

service=""
follow=()
since=30m
tail=200
while [ $# -gt 0 ]; do
  case "$1" in
    -f|--follow) follow=(--follow); shift ;;
    --since) [ $# -ge 2 ] || tw_die "--since needs a duration"; since="$2"; shift 2 ;;
    --tail)
      { [ $# -ge 2 ] && [[ "$2" =~ ^[0-9]+$ ]]; } || tw_die "--tail needs a number"
      tail="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) usage >&2; tw_die "unknown option: $1" ;;
    *)
      [ -z "$service" ] || tw_die "one service at a time (got $service and $1)"
      tw_is_service "$1" || tw_die "unknown service '$1' (one of: ${TW_SERVICES[*]})"
      service="$1"; shift ;;
  esac
done

tw_need_stack
if [ -n "$service" ]; then
  services=("$service")
else
  services=("${TW_SERVICES[@]}")
  [ "${#follow[@]}" = 0 ] || tw_die "--follow needs one SERVICE (or run one logs.sh per service)"
fi
for s in "${services[@]}"; do
  [ "${#services[@]}" = 1 ] || echo "===== ${TW_STACK}_$s"
  docker service logs --timestamps --since "$since" --tail "$tail" ${follow[@]+"${follow[@]}"} "${TW_STACK}_$s"
done
