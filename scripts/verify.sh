#!/usr/bin/env bash
# Checks the running stack end to end.
set -euo pipefail
TW_PROG=verify.sh
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF_USAGE'
Usage: scripts/verify.sh [--endpoint URL] [--min-workers N] [--timeout S]
                         [--api-key-file FILE] [--no-docker] [--in-network]

Checks the stack end to end:
  1. every service of the stack has converged (running == desired replicas);
  2. the master is healthy (GET /healthz);
  3. at least N workers are registered and online (GET /api/v1/workers);
  4. one `echo` task is answered, with its text, through MQTT and gRPC.
Steps 2-4 are scripts/verify-e2e.mjs, run with the local node, or with
--in-network (or when node is missing) in a one-off container of the stack's
image on the stack's attachable overlay network.

Options:
  --endpoint URL       master HTTP endpoint (default http://127.0.0.1:$TASKWIRE_HTTP_PUBLISH,
                       i.e. port 8080; with --in-network: http://master:8080)
  --min-workers N      workers that must be online (default: the desired
                       replicas of the worker services; 1 with --no-docker)
  --timeout S          seconds to wait for each check to pass (default 120)
  --api-key-file FILE  REST API keys file (default $TASKWIRE_SECRETS_DIR/api_keys
                       when it exists); $TASKWIRE_API_KEY overrides
  --no-docker          skip step 1 and Docker entirely: check the endpoint only
                       (used by the stack rehearsal test; works on any master)
  --in-network         run steps 2-4 inside the stack's network
  -h, --help           show this help
EOF_USAGE
}

endpoint=""
min_workers=""
timeout=120
api_key_file=""
no_docker=0
in_network=0
while [ $# -gt 0 ]; do
  case "$1" in
    --endpoint) [ $# -ge 2 ] || tw_die "--endpoint needs a URL"; endpoint="$2"; shift 2 ;;
    --min-workers)
      { [ $# -ge 2 ] && [[ "$2" =~ ^[0-9]+$ ]]; } || tw_die "--min-workers needs a number"
      min_workers="$2"; shift 2 ;;
    --timeout)
      { [ $# -ge 2 ] && [[ "$2" =~ ^[0-9]+$ ]]; } || tw_die "--timeout needs seconds"
      timeout="$2"; shift 2 ;;
    --api-key-file) [ $# -ge 2 ] || tw_die "--api-key-file needs a file"; api_key_file="$2"; shift 2 ;;
    --no-docker) no_docker=1; shift ;;
    --in-network) in_network=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; tw_die "unknown argument: $1" ;;
  esac
done
[ "$no_docker" = 1 ] && [ "$in_network" = 1 ] && tw_die "--no-docker and --in-network exclude each other"

if [ -z "$api_key_file" ] && [ -s "$TW_SECRETS_DIR/api_keys" ]; then
  api_key_file="$TW_SECRETS_DIR/api_keys"
fi
if [ -z "${TASKWIRE_API_KEY:-}" ] && [ -n "$api_key_file" ]; then
  [ -r "$api_key_file" ] || tw_die "cannot read $api_key_file"
  TASKWIRE_API_KEY="$(grep -m1 -v '^[[:space:]]*$' "$api_key_file" || true)"
fi
export TASKWIRE_API_KEY="${TASKWIRE_API_KEY:-}"

if [ "$no_docker" = 0 ]; then
  tw_need_stack
  tw_info "waiting up to ${timeout}s for the services of stack $TW_STACK to converge"
  tw_wait_converged "$timeout" || tw_die "services have not converged (docker service ps ${TW_STACK}_<service> shows why)"
  tw_service_replicas | sed 's/^/ok   converged: /'
  if [ -z "$min_workers" ]; then
    min_workers=0
    for svc in "${TW_SCALABLE[@]}"; do
      n="$(docker service inspect --format '{{if .Spec.Mode.Replicated}}{{.Spec.Mode.Replicated.Replicas}}{{else}}0{{end}}' \
        "${TW_STACK}_$svc" 2>/dev/null || echo 0)"
      min_workers=$((min_workers + n))
    done
  fi
  if ! command -v node >/dev/null 2>&1; then
    in_network=1
  fi
fi
[ -n "$min_workers" ] || min_workers=1

e2e_args=(--min-workers "$min_workers" --timeout-ms "$((timeout * 1000))")
if [ "$in_network" = 1 ]; then
  image="$(docker service inspect --format '{{.Spec.TaskTemplate.ContainerSpec.Image}}' "${TW_STACK}_master")"
  image="${image%%@*}"
  tw_info "running the end-to-end check in $image on network ${TW_STACK}_taskwire"
  docker run --rm --network "${TW_STACK}_taskwire" -e TASKWIRE_API_KEY --entrypoint node "$image" \
    scripts/verify-e2e.mjs --endpoint "${endpoint:-http://master:8080}" "${e2e_args[@]}" ||
    tw_die "end-to-end check failed"
else
  command -v node >/dev/null 2>&1 || tw_die "node (>= 20) is needed for the end-to-end check (or use --in-network)"
  node "$TW_ROOT/scripts/verify-e2e.mjs" --endpoint "${endpoint:-http://127.0.0.1:$TW_HTTP_PUBLISH}" "${e2e_args[@]}" ||
    tw_die "end-to-end check failed"
fi
tw_info "stack verified"
