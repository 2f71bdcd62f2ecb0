# shellcheck shell=bash
# shellcheck disable=SC2034  # the variables are used by the scripts that source this file
# Shared helpers of the taskwire operator scripts (sourced, not run).
# Defaults here are the ones stack.yml falls back to.

TW_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export TW_ROOT
TW_STACK="${TASKWIRE_STACK:-taskwire}"
TW_REGISTRY="${TASKWIRE_REGISTRY:-127.0.0.1:5000}"
TW_SECRETS_DIR="${TASKWIRE_SECRETS_DIR:-$TW_ROOT/deploy/secrets}"
TW_HTTP_PUBLISH="${TASKWIRE_HTTP_PUBLISH:-8080}"
TW_OBSERVER_PUBLISH="${TASKWIRE_OBSERVER_PUBLISH:-1884}"
TW_TOPIC_ROOT="${TASKWIRE_TOPIC_ROOT:-taskwire/v1}"
# Services of stack.yml an operator may name (without the stack prefix).
TW_SERVICES=(mosquitto master worker worker-llm worker-python worker-java prometheus grafana)
# Services that may run more than one replica.
TW_SCALABLE=(worker worker-llm worker-python worker-java)
# Swarm secrets of stack.yml: files of the same name in $TW_SECRETS_DIR.
TW_SECRET_KEYS=(mosquitto_passwd mosquitto_observer_passwd mqtt_master_password mqtt_worker_password
  mqtt_observer_password result_secret api_keys gemini_api_key openai_api_key grafana_admin_password)

tw_die() {
  echo "${TW_PROG:-taskwire}: error: $*" >&2
  exit 1
}

tw_info() {
  echo "${TW_PROG:-taskwire}: $*" >&2
}

# The image tag: $TASKWIRE_TAG, else the git commit (with -dirty), else latest.
tw_default_tag() {
  if [ -n "${TASKWIRE_TAG:-}" ]; then
    printf '%s\n' "$TASKWIRE_TAG"
    return
  fi
  local sha
  if sha="$(git -C "$TW_ROOT" rev-parse --short=12 HEAD 2>/dev/null)"; then
    if [ -n "$(git -C "$TW_ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
      sha="$sha-dirty"
    fi
    printf '%s\n' "$sha"
  else
    printf 'latest\n'
  fi
}

tw_image() {
  printf '%s/taskwire:%s\n' "$TW_REGISTRY" "$1"
}

tw_need_docker() {
  command -v docker >/dev/null 2>&1 || tw_die "docker is not installed (https://docs.docker.com/engine/install/)"
  docker info >/dev/null 2>&1 || tw_die "cannot reach the Docker daemon (is it running, and may this user use it?)"
}

tw_need_swarm() {
  tw_need_docker
  local state manager
  state="$(docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || true)"
  [ "$state" = "active" ] || tw_die "this Docker engine is not in a swarm (state: ${state:-unknown}); run: docker swarm init"
  manager="$(docker info --format '{{.Swarm.ControlAvailable}}' 2>/dev/null || true)"
  [ "$manager" = "true" ] || tw_die "this node is not a swarm manager; run the script on a manager node"
}

tw_need_stack() {
  tw_need_swarm
  docker stack ls --format '{{.Name}}' | grep -qx "$TW_STACK" ||
    tw_die "stack '$TW_STACK' is not deployed (scripts/deploy.sh deploys it)"
}

tw_is_service() {
  local s
  for s in "${TW_SERVICES[@]}"; do [ "$s" = "$1" ] && return 0; done
  return 1
}

tw_is_scalable() {
  local s
  for s in "${TW_SCALABLE[@]}"; do [ "$s" = "$1" ] && return 0; done
  return 1
}

# First 12 hex digits of the SHA-256 of the given files' contents.
tw_content_hash() {
  local f
  for f in "$@"; do
    [ -f "$f" ] || tw_die "missing file: $f"
  done
  if command -v sha256sum >/dev/null 2>&1; then
    cat "$@" | sha256sum | cut -c1-12
  else
    cat "$@" | shasum -a 256 | cut -c1-12
  fi
}

tw_secrets_version() {
  local files=() k
  for k in "${TW_SECRET_KEYS[@]}"; do files+=("$TW_SECRETS_DIR/$k"); done
  tw_content_hash "${files[@]}"
}

tw_config_version() {
  local obs="$TW_ROOT/deploy/observability"
  tw_content_hash "$TW_ROOT/deploy/mosquitto/mosquitto.conf" "$TW_ROOT/deploy/mosquitto/acl" \
    "$TW_ROOT/deploy/mosquitto/observer.acl" "$obs/prometheus.yml" "$obs/taskwire.rules.yml" \
    "$obs/grafana/provisioning/datasources/taskwire.yml" "$obs/grafana/provisioning/dashboards/taskwire.yml" \
    "$obs"/grafana/dashboards/*.json
}

# The first API key of the secrets dir (for REST calls), or empty.
tw_api_key() {
  if [ -n "${TASKWIRE_API_KEY:-}" ]; then
    printf '%s\n' "$TASKWIRE_API_KEY"
  elif [ -s "$TW_SECRETS_DIR/api_keys" ]; then
    head -n 1 "$TW_SECRETS_DIR/api_keys"
  fi
}

# Prints "name running/desired" for each service of the stack.
tw_service_replicas() {
  docker service ls --filter "label=com.docker.stack.namespace=$TW_STACK" \
    --format '{{.Name}} {{.Replicas}}'
}

# The state of a service's last update: empty (never updated), updating,
# completed, paused, rollback_started, rollback_completed, rollback_paused.
tw_update_state() {
  docker service inspect --format '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' "$1" 2>/dev/null || true
}

# Succeeds when every service of the stack runs as many tasks as it wants and
# no update is in progress. Services whose last update was rolled back or
# paused are listed in TW_UPDATE_FAILED (they may well be running: the old
# version); with $1 = strict, they count as not converged.
TW_UPDATE_FAILED=()
tw_converged() {
  local mode="${1:-}" out line name replicas running desired state ok=0
  TW_UPDATE_FAILED=()
  out="$(tw_service_replicas)" || return 1
  [ -n "$out" ] || return 1
  while IFS= read -r line; do
    name="${line%% *}"
    replicas="${line#* }"
    replicas="${replicas%% *}"
    running="${replicas%%/*}"
    desired="${replicas#*/}"
    if [ "$running" != "$desired" ]; then
      echo "$name: $running/$desired" >&2
      ok=1
    fi
    state="$(tw_update_state "$name")"
    case "$state" in
      updating|rollback_started) echo "$name: $state" >&2; ok=1 ;;
      paused|rollback_completed|rollback_paused)
        TW_UPDATE_FAILED+=("$name ($state)")
        [ "$mode" != strict ] || ok=1 ;;
    esac
  done <<< "$out"
  return "$ok"
}

# Waits up to $1 seconds for tw_converged ($2 = strict: a rolled-back or paused
# update fails at once).
tw_wait_converged() {
  local timeout="$1" mode="${2:-}" start now
  start="$(date +%s)"
  while ! tw_converged "$mode" 2>/dev/null; do
    if [ "$mode" = strict ] && [ "${#TW_UPDATE_FAILED[@]}" -gt 0 ]; then
      tw_info "update failed: ${TW_UPDATE_FAILED[*]} (docker service ps --no-trunc <service>)"
      return 1
    fi
    now="$(date +%s)"
    if [ $((now - start)) -ge "$timeout" ]; then
      tw_info "services not converged after ${timeout}s:"
      tw_converged "$mode" || true
      return 1
    fi
    sleep 2
  done
  if [ "${#TW_UPDATE_FAILED[@]}" -gt 0 ]; then
    tw_info "warning: last update rolled back or paused: ${TW_UPDATE_FAILED[*]}"
  fi
}

# Runs mosquitto_sub as the read-only observer account, with the password kept
# out of the process list: the local mosquitto_sub (against the published
# observer listener, $TASKWIRE_MQTT_HOST:$TASKWIRE_OBSERVER_PUBLISH) reads it
# from a private options file; without a local mosquitto_sub, it runs inside
# the stack's mosquitto container on this node.
tw_mosquitto_sub() {
  local pwfile="$TW_SECRETS_DIR/mqtt_observer_password"
  if command -v mosquitto_sub >/dev/null 2>&1 && [ -s "$pwfile" ]; then
    local cfg rc=0
    cfg="$(mktemp -d)"
    printf -- '-u observer\n-P %s\n' "$(cat "$pwfile")" > "$cfg/mosquitto_sub"
    XDG_CONFIG_HOME="$cfg" mosquitto_sub -h "${TASKWIRE_MQTT_HOST:-127.0.0.1}" -p "$TW_OBSERVER_PUBLISH" "$@" &
    local child=$!
    # Pass SIGTERM/SIGINT on, so that no mosquitto_sub outlives this script.
    trap 'kill "$child" 2>/dev/null || true' TERM INT
    wait "$child" || rc=$?
    trap - TERM INT
    wait "$child" 2>/dev/null || true
    rm -rf "$cfg"
    return "$rc"
  fi
  command -v docker >/dev/null 2>&1 ||
    tw_die "need mosquitto_sub (apt-get install mosquitto-clients) and $pwfile, or docker"
  local cid
  cid="$(docker ps -q --filter "label=com.docker.swarm.service.name=${TW_STACK}_mosquitto" | head -n 1)"
  [ -n "$cid" ] || tw_die "no local mosquitto_sub, and the ${TW_STACK}_mosquitto container does not run on this node"
  # shellcheck disable=SC2016  # $(cat ...) is expanded inside the container
  docker exec "$cid" sh -c 'exec mosquitto_sub -h 127.0.0.1 -p 1884 -u observer -P "$(cat /run/secrets/mqtt_observer_password)" "$@"' \
    mosquitto_sub "$@"
}
