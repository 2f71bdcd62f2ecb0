/**
 * A stand-in `docker` CLI for testing the Docker paths of the operator scripts
 * without a daemon: it answers the few queries the scripts make from a state
 * directory (swarm state, existing secrets, service replicas) and records every
 * call, with the TASKWIRE_* environment it saw, as one line.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

export interface DockerCall {
  args: string[];
  env: Record<string, string>;
}

export interface FakeDockerState {
  /** `docker info` Swarm.LocalNodeState. */
  swarm: 'active' | 'inactive';
  manager: boolean;
  /** Lines of `docker service ls --format '{{.Name}} {{.Replicas}}'`. */
  services: string[];
  /** Deployed stacks. */
  stacks: string[];
  /** UpdateStatus.State of every service (default: none). */
  update?: string;
}

const SCRIPT = `#!/usr/bin/env bash
set -u
state="$FAKE_DOCKER_DIR"
# One line per call: arguments, then the TASKWIRE_* environment, separated by
# US (0x1f) within a part and RS (0x1e) between the two parts.
{
  (IFS=$'\\x1f'; printf '%s' "$*")
  printf '\\x1e'
  env | grep '^TASKWIRE_' | tr '\\n' '\\037' || true
  printf '\\n'
} >> "$state/calls.log"
cfg() { cat "$state/state/$1"; }
case "$1 \${2:-}" in
  "--version "*) echo "Docker version 0.0.0-fake" ;;
  "info "*)
    case "$*" in
      *LocalNodeState*) cfg swarm ;;
      *ControlAvailable*) cfg manager ;;
      *NodeID*) echo fakenode1 ;;
      *) echo "fake docker info" ;;
    esac ;;
  "secret inspect") [ -e "$state/secrets/$3" ] ;;
  "secret create")
    shift 2
    while [ "$1" = "--label" ]; do shift 2; done
    cp "$2" "$state/secrets/$1" ;;
  "secret ls") ls "$state/secrets" ;;
  "secret rm") shift 2; for s in "$@"; do rm "$state/secrets/$s" || exit 1; done ;;
  "node ls") : ;;
  "node update") : ;;
  "stack deploy") echo "Creating services (fake)" ;;
  "stack config") : ;;
  "stack ls") cfg stacks ;;
  "stack rm") echo "Removing (fake)" ;;
  "service ls") cfg services ;;
  "service scale") echo "scaled (fake)" ;;
  "service inspect")
    case "$*" in
      *UpdateStatus*) cat "$state/state/update" ;;
      *Replicas*) echo 2 ;;
      *Image*) echo "127.0.0.1:5000/taskwire:fake@sha256:0" ;;
      *) exit 1 ;;
    esac ;;
  "ps "*) : ;;
  "network inspect") exit 1 ;;
  "config ls") : ;;
  *) echo "fake docker: unexpected call: $*" >&2; exit 99 ;;
esac
`;

export class FakeDocker {
  readonly bin: string;
  constructor(readonly dir: string) {
    this.bin = join(dir, 'bin');
    mkdirSync(this.bin, { recursive: true });
    mkdirSync(join(dir, 'secrets'), { recursive: true });
    writeFileSync(join(this.bin, 'docker'), SCRIPT);
    chmodSync(join(this.bin, 'docker'), 0o755);
    this.setState({ swarm: 'active', manager: true, services: [], stacks: [] });
  }

  setState(state: FakeDockerState): void {
    const d = join(this.dir, 'state');
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'swarm'), `${state.swarm}\n`);
    writeFileSync(join(d, 'manager'), `${String(state.manager)}\n`);
    writeFileSync(join(d, 'services'), state.services.map((l) => `${l}\n`).join(''));
    writeFileSync(join(d, 'stacks'), state.stacks.map((l) => `${l}\n`).join(''));
    writeFileSync(join(d, 'update'), state.update ? `${state.update}\n` : '');
  }

  calls(): DockerCall[] {
    const file = join(this.dir, 'calls.log');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [args = '', envs = ''] = line.split('\x1e');
        const env: Record<string, string> = {};
        for (const kv of envs.split('\x1f').filter(Boolean)) {
          const i = kv.indexOf('=');
          env[kv.slice(0, i)] = kv.slice(i + 1);
        }
        return { args: args.split('\x1f'), env };
      });
  }

  /** Calls whose arguments start with `prefix`. */
  find(...prefix: string[]): DockerCall[] {
    return this.calls().filter((c) => prefix.every((p, i) => c.args[i] === p));
  }

  /** The environment for a script run that uses this fake (and the real node, bash, mosquitto_passwd). */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return { PATH: `${this.bin}:${process.env.PATH ?? ''}`, HOME: this.dir, FAKE_DOCKER_DIR: this.dir, TASKWIRE_DEPLOY_SETTLE_S: '0', ...extra };
  }
}
