#!/usr/bin/env bash
# Removes the taskwire stack.
set -euo pipefail
TW_PROG=stop.sh
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF_USAGE'
Usage: scripts/stop.sh [--purge-secrets] [--purge-volumes] [--timeout S]

Removes the stack (docker stack rm): every service gets SIGTERM and its
stop_grace_period (workers hand back their tasks, the master flushes its
store), then waits until its containers and network are gone.

Options:
  --purge-secrets   also remove the stack's Swarm secrets and configs
                    (all versions; deploy.sh recreates them from deploy/secrets)
  --purge-volumes   also remove the master's data volume on this node
                    (THE TASK HISTORY IS LOST; back it up first, see docs)
  --timeout S       how long to wait for removal (default 180)
  -h, --help        show this help
EOF_USAGE
}

purge_secrets=0
purge_volumes=0
timeout=180
while [ $# -gt 0 ]; do
  case "$1" in
    --purge-secrets) purge_secrets=1; shift ;;
    --purge-volumes) purge_volumes=1; shift ;;
    --timeout)
      { [ $# -ge 2 ] && [[ "$2" =~ ^[0-9]+$ ]]; } || tw_die "--timeout needs seconds"
      timeout="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; tw_die "unknown argument: $1" ;;
  esac
done

tw_need_swarm
if docker stack ls --format '{{.Name}}' | grep -qx "$TW_STACK"; then
  docker stack rm "$TW_STACK"
else
  tw_info "stack $TW_STACK is not deployed"
fi

tw_info "waiting up to ${timeout}s for the stack's containers and network to go"
start="$(date +%s)"
while [ -n "$(docker ps -q --filter "label=com.docker.stack.namespace=$TW_STACK")" ] ||
  docker network inspect "${TW_STACK}_taskwire" >/dev/null 2>&1; do
  [ $(($(date +%s) - start)) -lt "$timeout" ] || tw_die "still there after ${timeout}s (docker ps, docker network ls)"
  sleep 2
done

if [ "$purge_secrets" = 1 ]; then
  mapfile -t secrets < <(docker secret ls -q --filter "label=taskwire.stack=$TW_STACK")
  [ "${#secrets[@]}" = 0 ] || docker secret rm "${secrets[@]}" >/dev/null
  mapfile -t configs < <(docker config ls --format '{{.Name}}' | grep "^taskwire_mosquitto_" || true)
  [ "${#configs[@]}" = 0 ] || docker config rm "${configs[@]}" >/dev/null
  tw_info "removed ${#secrets[@]} secret(s) and ${#configs[@]} config(s)"
fi
if [ "$purge_volumes" = 1 ]; then
  if docker volume rm "${TW_STACK}_master-data" >/dev/null 2>&1; then
    tw_info "removed volume ${TW_STACK}_master-data"
  else
    tw_info "volume ${TW_STACK}_master-data is not on this node (or still in use)"
  fi
fi
tw_info "stopped"
