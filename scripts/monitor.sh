#!/usr/bin/env bash
# Live status of the taskwire cluster: services, workers, queue, MQTT traffic.
set -euo pipefail
TW_PROG=monitor.sh
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF_USAGE'
Usage: scripts/monitor.sh [--interval S] [--once] [--endpoint URL] [--mqtt [--logs]]

Dashboard (default): refreshed every --interval seconds (default 5):
  - the stack's services and replicas (docker service ls; skipped without Docker),
  - cluster status and workers from the master's REST API
    (GET /api/v1/cluster, /api/v1/workers),
  - the retained cluster status the master publishes on MQTT.

--mqtt streams the broker instead, read-only as the observer account:
  worker status (registration, presence, Last Will), master and cluster status,
  and with --logs the structured log lines of master and workers:
    mosquitto_sub -v -t 'taskwire/v1/workers/+/status' -t 'taskwire/v1/master/status' ...

Options:
  --interval S     dashboard refresh period (default 5)
  --once           print the dashboard once and exit
  --endpoint URL   master HTTP endpoint (default http://127.0.0.1:8080)
  --mqtt           stream MQTT status messages (Ctrl-C to stop)
  --logs           with --mqtt: the log topics too
  -h, --help       show this help
Environment: TASKWIRE_MQTT_HOST (127.0.0.1), TASKWIRE_OBSERVER_PUBLISH (1884),
TASKWIRE_SECRETS_DIR (observer password, API key), TASKWIRE_API_KEY.
EOF_USAGE
}

interval=5
once=0
mqtt=0
logs=0
endpoint="http://127.0.0.1:$TW_HTTP_PUBLISH"
while [ $# -gt 0 ]; do
  case "$1" in
    --interval)
      { [ $# -ge 2 ] && [[ "$2" =~ ^[1-9][0-9]*$ ]]; } || tw_die "--interval needs a positive number of seconds"
      interval="$2"; shift 2 ;;
    --once) once=1; shift ;;
    --endpoint) [ $# -ge 2 ] || tw_die "--endpoint needs a URL"; endpoint="$2"; shift 2 ;;
    --mqtt) mqtt=1; shift ;;
    --logs) logs=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; tw_die "unknown argument: $1" ;;
  esac
done
[ "$logs" = 0 ] || [ "$mqtt" = 1 ] || tw_die "--logs goes with --mqtt"

root="$TW_TOPIC_ROOT"
if [ "$mqtt" = 1 ]; then
  topics=(-t "$root/workers/+/status" -t "$root/master/status" -t "$root/cluster/status")
  [ "$logs" = 0 ] || topics+=(-t "$root/logs/#")
  exec_sub() { tw_mosquitto_sub -v "${topics[@]}"; }
  exec_sub
  exit $?
fi

command -v curl >/dev/null 2>&1 || tw_die "curl is needed for the dashboard (or use --mqtt)"
api_key="$(tw_api_key || true)"

# GET an API path; pretty-printed with jq when it is installed.
api_get() {
  local args=(-fsS --max-time 5)
  [ -z "$api_key" ] || args+=(-H "Authorization: Bearer $api_key")
  local body
  if ! body="$(curl "${args[@]}" "$endpoint$1" 2>&1)"; then
    echo "  (unreachable: $body)"
    return 0
  fi
  if command -v jq >/dev/null 2>&1; then
    printf '%s' "$body" | jq "${2:-.}"
  else
    printf '%s\n' "$body"
  fi
}

dashboard() {
  echo "taskwire stack '$TW_STACK' at $(date '+%Y-%m-%d %H:%M:%S')   (Ctrl-C to stop)"
  echo
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    echo "== services"
    docker service ls --filter "label=com.docker.stack.namespace=$TW_STACK" \
      --format 'table {{.Name}}\t{{.Replicas}}\t{{.Image}}\t{{.Ports}}'
    echo
  fi
  echo "== cluster (GET $endpoint/api/v1/cluster)"
  api_get /api/v1/cluster
  echo
  echo "== workers (GET $endpoint/api/v1/workers)"
  api_get /api/v1/workers '.workers[] | {id, state, language, kinds, capacity, running, last_seen}'
  echo
  echo "== MQTT $root/cluster/status (retained)"
  tw_mosquitto_sub -t "$root/cluster/status" -C 1 -W 3 2>&1 || echo "  (no cluster status within 3 s)"
}

if [ "$once" = 1 ]; then
  dashboard
  exit 0
fi
while true; do
  out="$(dashboard 2>&1)"
  [ ! -t 1 ] || clear
  printf '%s\n' "$out"
  sleep "$interval"
done
