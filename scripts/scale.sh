#!/usr/bin/env bash
# Scales a worker service of the stack.
set -euo pipefail
TW_PROG=scale.sh
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF_USAGE'
Usage: scripts/scale.sh SERVICE N [--no-wait] [--timeout S]

Sets the replicas of a worker service (worker, worker-llm, worker-python) to N (0-1000) and
waits until it has converged. New workers register on their own; removed ones
get SIGTERM, finish or hand back their tasks within stop_grace_period and
publish `offline`. The master and mosquitto run exactly one replica and cannot
be scaled. Note: scripts/deploy.sh resets replicas to TASKWIRE_WORKER_REPLICAS /
TASKWIRE_LLM_WORKER_REPLICAS / TASKWIRE_PYTHON_WORKER_REPLICAS; set those to keep a
scale across deploys.

Options:
  --no-wait     return at once
  --timeout S   how long to wait (default 300)
  -h, --help    show this help
EOF_USAGE
}

args=()
wait=1
timeout=300
while [ $# -gt 0 ]; do
  case "$1" in
    --no-wait) wait=0; shift ;;
    --timeout)
      { [ $# -ge 2 ] && [[ "$2" =~ ^[0-9]+$ ]]; } || tw_die "--timeout needs seconds"
      timeout="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) usage >&2; tw_die "unknown option: $1" ;;
    *) args+=("$1"); shift ;;
  esac
done
[ "${#args[@]}" = 2 ] || { usage >&2; tw_die "expected SERVICE and N"; }
service="${args[0]}"
replicas="${args[1]}"
tw_is_service "$service" || tw_die "unknown service '$service' (one of: ${TW_SERVICES[*]})"
tw_is_scalable "$service" || tw_die "$service runs exactly one replica; only ${TW_SCALABLE[*]} scale"
{ [[ "$replicas" =~ ^[0-9]+$ ]] && [ "$replicas" -le 1000 ]; } || tw_die "N must be a number from 0 to 1000, got '$replicas'"

tw_need_stack
docker service scale --detach "${TW_STACK}_$service=$replicas"
if [ "$wait" = 1 ]; then
  tw_info "waiting up to ${timeout}s for ${TW_STACK}_$service to run $replicas replica(s)"
  tw_wait_converged "$timeout" || tw_die "not converged; see docker service ps ${TW_STACK}_$service"
  tw_service_replicas
fi
