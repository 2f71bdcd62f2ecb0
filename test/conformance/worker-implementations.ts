/**
 * Every worker implementation in the repo, with the command that starts one
 * and why it cannot run here (a missing runtime), if it cannot.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, TASKWIRE_CLI } from '../helpers/processes.js';

export interface WorkerImplementation {
  language: string;
  command: string;
  /** Why it cannot run on this machine, or undefined. */
  missing: string | undefined;
}

export const PYTHON = '/usr/bin/python3';
export const PYTHON_WORKER = join(REPO_ROOT, 'worker', 'python', 'run.sh');
export const GO_WORKER_DIR = join(REPO_ROOT, 'worker', 'go');
export const JAVA_WORKER_DIR = join(REPO_ROOT, 'worker', 'java');
/** Built by `mvn -B -q package` in worker/java (.ci/run does it; tests never run Maven). */
export const JAVA_JAR = join(JAVA_WORKER_DIR, 'target', 'taskwire-worker.jar');

function probe(cmd: string, args: string[]): string | undefined {
  try {
    execFileSync(cmd, args, { stdio: 'pipe', timeout: 20_000 });
    return undefined;
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    return (e.stderr?.toString().trim().split('\n').pop() ?? e.message).slice(0, 300);
  }
}

export function pythonMissing(): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} is not installed`;
  const why = probe(PYTHON, ['-c', 'import paho.mqtt.client, grpc, google.protobuf, grpc_tools.protoc']);
  return why
    ? `${PYTHON} lacks the Debian packages (apt-get install python3-paho-mqtt python3-grpcio python3-protobuf python3-grpc-tools): ${why}`
    : undefined;
}

/**
 * The environment the Go worker is built in at test time: the module cache
 * only (.ci/run downloads the modules of worker/go/go.sum beforehand).
 */
export const GO_OFFLINE_ENV = { ...process.env, GOPROXY: 'off', GOFLAGS: '-mod=readonly -buildvcs=false' };

export function goMissing(): string | undefined {
  if (!existsSync(join(GO_WORKER_DIR, 'go.mod'))) return 'no Go worker module in this repo (worker/go/go.mod)';
  const noGo = probe('go', ['version']);
  if (noGo) return `go is not installed (apt-get install golang-go, or Go >= 1.24): ${noGo}`;
  try {
    execFileSync('go', ['list', '-deps', '.'], { cwd: GO_WORKER_DIR, env: GO_OFFLINE_ENV, stdio: 'pipe', timeout: 60_000 });
    return undefined;
  } catch (err) {
    const why = ((err as { stderr?: Buffer }).stderr?.toString().trim().split('\n').pop() ?? '').slice(0, 300);
    return `the Go worker's modules are not in the module cache (cd worker/go && go mod download): ${why}`;
  }
}

/** Builds what must be built before a worker can start (the Go binary, from the module cache; run.sh of the Python worker generates its stubs itself). */
export function prepareImplementation(impl: WorkerImplementation): void {
  if (impl.language === 'go') execFileSync(join(GO_WORKER_DIR, 'build.sh'), [], { stdio: 'pipe', timeout: 300_000, env: GO_OFFLINE_ENV });
}

export function workerImplementations(): WorkerImplementation[] {
  const all: WorkerImplementation[] = [
    {
      language: 'typescript',
      command: `${JSON.stringify(process.execPath)} ${JSON.stringify(TASKWIRE_CLI)} worker`,
      missing: existsSync(TASKWIRE_CLI) ? undefined : `${TASKWIRE_CLI} is not built (npm run build)`,
    },
    { language: 'python', command: JSON.stringify(PYTHON_WORKER), missing: pythonMissing() },
  ];
  if (existsSync(GO_WORKER_DIR)) {
    all.push({ language: 'go', command: JSON.stringify(join(GO_WORKER_DIR, 'run.sh')), missing: goMissing() });
  }
  if (existsSync(JAVA_WORKER_DIR)) {
    all.push({ language: 'java', command: JSON.stringify(join(JAVA_WORKER_DIR, 'run.sh')), missing: javaMissing() });
  }
  return all;
}

export function javaMissing(): string | undefined {
  if (!existsSync(JAVA_JAR)) return `${JAVA_JAR} is not built (cd worker/java && mvn -B -q package; .ci/run does it)`;
  const why = probe('java', ['-version']);
  return why ? `java is not installed (apt-get install openjdk-17-jre-headless): ${why}` : undefined;
}
