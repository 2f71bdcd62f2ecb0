#!/usr/bin/env bash
# Builds (and optionally pushes) the images stack.yml runs.
set -euo pipefail
TW_PROG=build.sh
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF_USAGE'
Usage: scripts/build.sh [--tag TAG] [--push] [--no-cache] [--print-images]

Builds the taskwire image (master and TypeScript workers; Dockerfile at the
repository root) as $TASKWIRE_REGISTRY/taskwire:TAG, also tagged :latest.

Options:
  --tag TAG        image tag (default: $TASKWIRE_TAG, else the git commit)
  --push           push the tags to the registry (needed on multi-node swarms;
                   the default registry 127.0.0.1:5000 is started by
                   scripts/deploy.sh --with-registry)
  --no-cache       build without the layer cache
  --print-images   print the image references this script builds and exit
                   (no Docker needed; used by test/deploy/stack.test.ts)
  -h, --help       show this help

Environment: TASKWIRE_REGISTRY (127.0.0.1:5000), TASKWIRE_TAG.
EOF_USAGE
}

push=0
print_only=0
build_args=()
tag=""
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) [ $# -ge 2 ] || tw_die "--tag needs a value"; tag="$2"; shift 2 ;;
    --push) push=1; shift ;;
    --no-cache) build_args+=(--no-cache); shift ;;
    --print-images) print_only=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; tw_die "unknown argument: $1" ;;
  esac
done
[ -n "$tag" ] || tag="$(tw_default_tag)"
[[ "$tag" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || tw_die "not a valid image tag: $tag"

# One Dockerfile per image: "<dockerfile>|<image name>".
images=("Dockerfile|taskwire")
# The Python worker's image joins here when worker/python/Dockerfile exists.
if [ -f "$TW_ROOT/worker/python/Dockerfile" ]; then
  images+=("worker/python/Dockerfile|taskwire-worker-python")
fi
if [ -f "$TW_ROOT/worker/java/Dockerfile" ]; then
  images+=("worker/java/Dockerfile|taskwire-worker-java")
fi

if [ "$print_only" = 1 ]; then
  for entry in "${images[@]}"; do
    printf '%s/%s:%s\n' "$TW_REGISTRY" "${entry#*|}" "$tag"
    printf '%s/%s:latest\n' "$TW_REGISTRY" "${entry#*|}"
  done
  exit 0
fi

tw_need_docker
for entry in "${images[@]}"; do
  dockerfile="${entry%%|*}"
  name="$TW_REGISTRY/${entry#*|}"
  # Every image builds from the repository root (the Python worker copies proto/ too).
  context="$TW_ROOT"
  tw_info "building $name:$tag from $dockerfile"
  docker build ${build_args[@]+"${build_args[@]}"} -f "$TW_ROOT/$dockerfile" \
    --label "org.opencontainers.image.revision=$tag" \
    -t "$name:$tag" -t "$name:latest" "$context"
  if [ "$push" = 1 ]; then
    tw_info "pushing $name:$tag"
    docker push "$name:$tag" || tw_die "push to $TW_REGISTRY failed (is the registry running? scripts/deploy.sh --with-registry starts one)"
    docker push "$name:latest"
  fi
done
tw_info "built tag $tag; deploy it with: TASKWIRE_TAG=$tag scripts/deploy.sh"
