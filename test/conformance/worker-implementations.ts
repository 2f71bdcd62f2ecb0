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

/** Debian packages the Go worker builds from (GOPATH mode over /usr/share/gocode). */
export const GO_PACKAGES = [
  'golang-go',
  'golang-google-grpc-dev',
  'golang-github-eclipse-paho.mqtt.golang-dev',
  'golang-google-protobuf-dev',
  'protobuf-compiler',
  'protoc-gen-go',
  'protoc-gen-go-grpc',
];

export function goMissing(): string | undefined {
  if (!existsSync(join(GO_WORKER_DIR, 'run.sh'))) return 'no Go worker in this repo (worker/go/run.sh)';
  const needed = [
    probe('go', ['version']) && 'go',
    probe('protoc', ['--version']) && 'protoc',
    probe('sh', ['-c', 'command -v protoc-gen-go && command -v protoc-gen-go-grpc']) && 'protoc-gen-go(-grpc)',
    ...['github.com/eclipse/paho.mqtt.golang', 'google.golang.org/grpc', 'google.golang.org/protobuf']
      .filter((p) => !existsSync(join('/usr/share/gocode/src', p)))
      .map((p) => `/usr/share/gocode/src/${p}`),
  ].filter(Boolean);
  return needed.length ? `the Go toolchain is incomplete (missing ${needed.join(', ')}; apt-get install ${GO_PACKAGES.join(' ')})` : undefined;
}

/** Builds what must be built before a worker can start (the Go binary; run.sh of the Python worker generates its stubs itself). */
export function prepareImplementation(impl: WorkerImplementation): void {
  if (impl.language === 'go') execFileSync(join(GO_WORKER_DIR, 'build.sh'), [], { stdio: 'pipe', timeout: 300_000 });
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
  return all;
}
