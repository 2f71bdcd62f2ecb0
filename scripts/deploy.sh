#!/usr/bin/env bash
# Deploys (or updates) the taskwire stack on the swarm this node manages.
set -euo pipefail
TW_PROG=deploy.sh
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF_USAGE'
Usage: scripts/deploy.sh [--tag TAG] [--build] [--with-registry] [--postgres] [--multi-master] [--no-wait] [--timeout S]

Deploys stack.yml as the stack $TASKWIRE_STACK (taskwire), or updates it in
place (rolling: workers start-first with automatic rollback, master stop-first):
  1. generates missing secrets into $TASKWIRE_SECRETS_DIR (deploy/secrets) with
     deploy/gen-secrets.sh, and creates them as Swarm secrets named
     taskwire_<name>_<content hash> (a changed secret rolls the services);
  2. labels this node taskwire.master=true unless a node already has the label
     (the master's data volume lives there);
  3. docker stack deploy, then waits until every service has converged.
With --postgres the master's task store is the PostgreSQL service of the
override stack.postgres.yml (docs/DEPLOYMENT.md): its password secret
taskwire_postgres_password_$TASKWIRE_POSTGRES_SECRET_VERSION (v1) is created
from $TASKWIRE_SECRETS_DIR/postgres_password (generated when missing), the
merged stack is checked with docker stack config, and both files are deployed.
With --multi-master (implies --postgres) stack.multi-master.yml is deployed
too: the master as a replicated service ($TASKWIRE_MASTER_REPLICAS, 2) in
TASKWIRE_MASTERS=multi mode; PostgreSQL's node gets the label
taskwire.postgres=true (the node labelled taskwire.master when there is one
such node, else this one) unless a node has it, so more nodes labelled
taskwire.master=true can run masters without moving the database.

Options:
  --tag TAG         image tag to run (default: $TASKWIRE_TAG, else the git commit)
  --build           run scripts/build.sh --push first
  --with-registry   start a registry:2 service on port 5000 if none answers at
                    $TASKWIRE_REGISTRY (127.0.0.1:5000)
  --postgres        deploy stack.yml + stack.postgres.yml (the task store on
                    PostgreSQL; also TASKWIRE_DEPLOY_POSTGRES=1)
  --multi-master    also stack.multi-master.yml: several masters on that
                    PostgreSQL (implies --postgres; also TASKWIRE_DEPLOY_MULTI_MASTER=1)
  --no-wait         do not wait for convergence
  --timeout S       how long to wait for convergence (default 300)
  -h, --help        show this help

Environment: TASKWIRE_STACK, TASKWIRE_REGISTRY, TASKWIRE_TAG, TASKWIRE_SECRETS_DIR,
and the variables listed at the top of stack.yml (replicas, ports, log level).
EOF_USAGE
}

tag=""
build=0
with_registry=0
postgres="${TASKWIRE_DEPLOY_POSTGRES:-0}"
multi_master="${TASKWIRE_DEPLOY_MULTI_MASTER:-0}"
wait=1
timeout=300
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) [ $# -ge 2 ] || tw_die "--tag needs a value"; tag="$2"; shift 2 ;;
    --build) build=1; shift ;;
    --with-registry) with_registry=1; shift ;;
    --postgres) postgres=1; shift ;;
    --multi-master) multi_master=1; shift ;;
    --no-wait) wait=0; shift ;;
    --timeout)
      [ $# -ge 2 ] || tw_die "--timeout needs seconds"
      [[ "$2" =~ ^[0-9]+$ ]] || tw_die "--timeout: not a number: $2"
      timeout="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; tw_die "unknown argument: $1" ;;
  esac
done
[ -n "$tag" ] || tag="$(tw_default_tag)"
# Several masters share one PostgreSQL database: multi-master needs the PostgreSQL override.
[ "$multi_master" = 1 ] && postgres=1

tw_need_swarm

if [ "$with_registry" = 1 ]; then
  if ! docker service inspect "$TW_STACK-registry" >/dev/null 2>&1; then
    tw_info "starting registry service $TW_STACK-registry on port 5000"
    docker service create --detach=false --name "$TW_STACK-registry" \
      --publish published=5000,target=5000 --constraint node.role==manager \
      --mount "type=volume,source=$TW_STACK-registry,target=/var/lib/registry" registry:2 >/dev/null
  fi
fi

if [ "$build" = 1 ]; then
  "$TW_ROOT/scripts/build.sh" --tag "$tag" --push
fi

# 1. Secrets.
"$TW_ROOT/deploy/gen-secrets.sh" --out "$TW_SECRETS_DIR" >&2
secrets_version="$(tw_secrets_version)"
for key in "${TW_SECRET_KEYS[@]}"; do
  name="taskwire_${key}_${secrets_version}"
  if ! docker secret inspect "$name" >/dev/null 2>&1; then
    docker secret create --label "taskwire.stack=$TW_STACK" --label "taskwire.secrets-version=$secrets_version" \
      "$name" "$TW_SECRETS_DIR/$key" >/dev/null
    tw_info "created secret $name"
  fi
done

stack_files=(-c "$TW_ROOT/stack.yml")
if [ "$postgres" = 1 ]; then
  # The PostgreSQL password: a file of its own (never in the stack or the URL), one Swarm secret per version.
  pg_secret="taskwire_postgres_password_${TASKWIRE_POSTGRES_SECRET_VERSION:-v1}"
  if ! docker secret inspect "$pg_secret" >/dev/null 2>&1; then
    if [ ! -s "$TW_SECRETS_DIR/postgres_password" ]; then
      mkdir -p "$TW_SECRETS_DIR"
      (umask 077 && od -An -N24 -tx1 /dev/urandom | tr -d ' \n' >"$TW_SECRETS_DIR/postgres_password")
      tw_info "generated $TW_SECRETS_DIR/postgres_password"
    fi
    docker secret create --label "taskwire.stack=$TW_STACK" "$pg_secret" "$TW_SECRETS_DIR/postgres_password" >/dev/null
    tw_info "created secret $pg_secret"
  fi
  stack_files+=(-c "$TW_ROOT/stack.postgres.yml")
  [ "$multi_master" = 1 ] && stack_files+=(-c "$TW_ROOT/stack.multi-master.yml")
fi

# 2. Where the master (and its data) lives.
if [ -z "$(docker node ls --filter node.label=taskwire.master=true -q)" ]; then
  self="$(docker info --format '{{.Swarm.NodeID}}')"
  docker node update --label-add taskwire.master=true "$self" >/dev/null
  tw_info "labelled this node ($self) taskwire.master=true"
fi
if [ "$multi_master" = 1 ] && [ -z "$(docker node ls --filter node.label=taskwire.postgres=true -q)" ]; then
  # PostgreSQL's volume is local to its node: pin it there before more nodes may run masters.
  masters="$(docker node ls --filter node.label=taskwire.master=true -q)"
  if [ "$(printf '%s\n' "$masters" | grep -c .)" = 1 ]; then pg_node="$masters"; else pg_node="$(docker info --format '{{.Swarm.NodeID}}')"; fi
  docker node update --label-add taskwire.postgres=true "$pg_node" >/dev/null
  tw_info "labelled node $pg_node taskwire.postgres=true (PostgreSQL stays there)"
fi

# 3. Deploy.
export TASKWIRE_TAG="$tag" TASKWIRE_REGISTRY="$TW_REGISTRY"
TASKWIRE_SECRETS_VERSION="$secrets_version"
TASKWIRE_CONFIG_VERSION="$(tw_config_version)"
export TASKWIRE_SECRETS_VERSION TASKWIRE_CONFIG_VERSION
if [ "$postgres" = 1 ]; then
  # The merged stack must be valid before anything is deployed.
  docker stack config "${stack_files[@]}" >/dev/null || tw_die "docker stack config refused stack.yml + stack.postgres.yml$([ "$multi_master" = 1 ] && echo ' + stack.multi-master.yml')"
fi
tw_info "deploying $(tw_image "$tag") as stack $TW_STACK (secrets $secrets_version, configs $TASKWIRE_CONFIG_VERSION$([ "$postgres" = 1 ] && echo ', task store on PostgreSQL')$([ "$multi_master" = 1 ] && echo ", ${TASKWIRE_MASTER_REPLICAS:-2} masters"))"
docker stack deploy --with-registry-auth --resolve-image always --prune \
  "${stack_files[@]}" "$TW_STACK"

if [ "$wait" = 1 ]; then
  tw_info "waiting up to ${timeout}s for the services to converge"
  # Give the swarm a moment to start the rolling updates it was just handed.
  sleep "${TASKWIRE_DEPLOY_SETTLE_S:-3}"
  tw_wait_converged "$timeout" strict || tw_die "not converged (a failed worker update rolls back on its own); see scripts/logs.sh and docker service ps ${TW_STACK}_<service>"
  tw_service_replicas
  tw_info "deployed; check it end to end with scripts/verify.sh"
fi
