#!/usr/bin/env bash
# Generates the secrets of the taskwire stack into a directory (default
# deploy/secrets/, git-ignored): random MQTT passwords, the Mosquitto password
# files hashed with mosquitto_passwd, the master's result-token secret, an API
# key, and the provider API key files. Existing values are kept unless --force.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

usage() {
  cat <<'EOF'
Usage: deploy/gen-secrets.sh [--out DIR] [--force] [--worker-account NAME]...

Writes, into DIR (default: deploy/secrets), one file per Swarm secret:
  mqtt_master_password, mqtt_worker_password, mqtt_observer_password
                             random MQTT passwords (kept if present)
  mosquitto_passwd           password file of the cluster listener (master,
                             worker and every --worker-account), hashed
  mosquitto_observer_passwd  password file of the observer listener
  result_secret              HMAC key of the master's per-attempt result tokens
  api_keys                   REST API keys, one per line (one is generated)
  grafana_admin_password     password of Grafana's admin user (random, kept)
  gemini_api_key, openai_api_key
                             provider keys, taken from $GEMINI_API_KEY and
                             $OPENAI_API_KEY when set, else a lone newline
                             (Swarm refuses empty secrets; a value that is
                             empty once trimmed means "provider not configured")

Options:
  --out DIR                  where to write (created with mode 700)
  --force                    regenerate every random value (rotates everything)
  --worker-account NAME      also create a per-worker account NAME (its worker
                             id and MQTT client id must be NAME as well); its
                             password goes to mqtt_worker_NAME_password, and
                             later runs keep every such account
  -h, --help                 show this help

Needs mosquitto_passwd (Debian/Ubuntu: apt-get install mosquitto) or, failing
that, docker to run it from the eclipse-mosquitto image.
EOF
}

die() { echo "gen-secrets: $*" >&2; exit 1; }

out="$here/secrets"
force=0
extra_accounts=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) [ $# -ge 2 ] || die "--out needs a directory"; out="$2"; shift 2 ;;
    --force) force=1; shift ;;
    --worker-account)
      [ $# -ge 2 ] || die "--worker-account needs a name"
      [[ "$2" =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$ ]] || die "bad worker account name: $2"
      case "$2" in master|observer|worker) die "account name $2 is reserved" ;; esac
      extra_accounts+=("$2"); shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

umask 077
mkdir -p "$out"
chmod 700 "$out"

random_hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# Writes a random value into FILE unless it exists (or --force).
ensure_random() {
  local file="$out/$1" bytes="$2"
  if [ "$force" = 1 ] || [ ! -s "$file" ]; then
    random_hex "$bytes" > "$file"
    echo "gen-secrets: wrote $file"
  fi
}

ensure_random mqtt_master_password 24
ensure_random mqtt_worker_password 24
ensure_random mqtt_observer_password 24
ensure_random result_secret 32
ensure_random grafana_admin_password 24
if [ "$force" = 1 ] || [ ! -s "$out/api_keys" ]; then
  printf 'tw_%s\n' "$(random_hex 24)" > "$out/api_keys"
  echo "gen-secrets: wrote $out/api_keys"
fi
for account in ${extra_accounts[@]+"${extra_accounts[@]}"}; do
  ensure_random "mqtt_worker_${account}_password" 24
done

# Provider keys: from the environment when given, else a lone newline (the secret
# must exist for the stack to deploy, Swarm refuses empty secrets, and the
# workers trim secret files: blank means "not configured").
provider_key() {
  local file="$out/$1" value="$2"
  if [ -n "$value" ]; then
    printf '%s' "$value" > "$file"
    echo "gen-secrets: wrote $file from the environment"
  elif [ ! -s "$file" ]; then
    printf '\n' > "$file"
  fi
}
provider_key gemini_api_key "${GEMINI_API_KEY:-}"
provider_key openai_api_key "${OPENAI_API_KEY:-}"

# Hashes a plain "user:password" file in place with mosquitto_passwd -U.
hash_password_file() {
  local plain="$1"
  if command -v mosquitto_passwd >/dev/null 2>&1; then
    mosquitto_passwd -U "$plain"
  elif command -v docker >/dev/null 2>&1; then
    docker run --rm --user "$(id -u):$(id -g)" -v "$(dirname "$plain"):/w" \
      "eclipse-mosquitto:${TASKWIRE_MOSQUITTO_TAG:-2.0.22}" mosquitto_passwd -U "/w/$(basename "$plain")"
  else
    die "mosquitto_passwd not found (apt-get install mosquitto) and no docker to run it from eclipse-mosquitto"
  fi
}

# Rebuilds a hashed password file when it is missing or older than a password
# it holds. mosquitto_passwd salts randomly, so rebuilding on every run would
# change the Swarm secret (and restart the broker) on every deploy.
build_password_file() {
  local target="$out/$1"; shift
  local rebuild=0 entry user
  [ -s "$target" ] || rebuild=1
  for entry in "$@"; do
    [ "$out/${entry#*=}" -nt "$target" ] && rebuild=1
    user="${entry%%=*}"
    grep -q "^${user}:" "$target" 2>/dev/null || rebuild=1
  done
  [ "$rebuild" = 1 ] || return 0
  local tmp="$target.tmp"
  : > "$tmp"
  for entry in "$@"; do
    printf '%s:%s\n' "${entry%%=*}" "$(cat "$out/${entry#*=}")" >> "$tmp"
  done
  hash_password_file "$tmp"
  mv "$tmp" "$target"
  echo "gen-secrets: wrote $target"
}

# Per-worker accounts: those named now and those created by earlier runs.
cluster_entries=(master=mqtt_master_password worker=mqtt_worker_password)
for file in "$out"/mqtt_worker_*_password; do
  [ -e "$file" ] || continue
  account="${file##*/mqtt_worker_}"
  account="${account%_password}"
  cluster_entries+=("${account}=mqtt_worker_${account}_password")
done
build_password_file mosquitto_passwd "${cluster_entries[@]}"
build_password_file mosquitto_observer_passwd observer=mqtt_observer_password

echo "gen-secrets: secrets are in $out (keep them out of version control)"
