/**
 * The Python worker's packaging: stubs generated from proto/ by gen_stubs.sh
 * (never hand-written), configuration errors that name the variable, the
 * shell scripts pass shellcheck, and the Dockerfile is Debian-based, non-root,
 * pip-free and has a HEALTHCHECK.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/processes.js';
import { PYTHON, pythonMissing } from './worker-implementations.js';

const PY_DIR = join(REPO_ROOT, 'worker', 'python');
const missing = pythonMissing();
const temp = mkdtempSync(join(tmpdir(), 'taskwire-py-stubs-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

function hasShellcheck(): boolean {
  return spawnSync('shellcheck', ['--version'], { stdio: 'ignore' }).status === 0;
}

describe('the Python worker package', () => {
  it.skipIf(missing !== undefined)(`gen_stubs.sh generates working stubs from proto/${missing ? ` (skipped: ${missing})` : ''}`, () => {
    const out = join(temp, 'gen');
    execFileSync('sh', [join(PY_DIR, 'gen_stubs.sh'), join(REPO_ROOT, 'proto'), out], { stdio: 'pipe' });
    const script = [
      'from taskwire_worker import codec',
      'from taskwire_worker.stubs import worker_pb2, task_pb2',
      's = worker_pb2.WorkerStatus(worker_id="w1", state=worker_pb2.WORKER_STATE_ONLINE, kinds=["echo"], capacity=2, started_at_ms=1795482064785)',
      'print(codec.encode(s).decode())',
      'a = codec.decode(b\'{"tasks":[{"taskId":"t","attempt":"2","kind":"echo","resultToken":"k","new_field":1}]}\', task_pb2.Assignments)',
      'print(a.tasks[0].task_id, a.tasks[0].attempt, a.tasks[0].result_token)',
    ].join('\n');
    const printed = execFileSync(PYTHON, ['-c', script], { cwd: PY_DIR, env: { ...process.env, TASKWIRE_PY_STUBS: out }, encoding: 'utf8' });
    expect(printed.trim().split('\n')).toEqual([
      '{"worker_id":"w1","state":"WORKER_STATE_ONLINE","kinds":["echo"],"capacity":2,"started_at_ms":"1795482064785"}',
      't 2 k',
    ]);
  });

  it.skipIf(missing !== undefined)('a wrong setting stops the worker with a message naming the variable', () => {
    const r = spawnSync(join(PY_DIR, 'run.sh'), [], { env: { PATH: process.env['PATH'] ?? '', TASKWIRE_WORKER_CAPACITY: '0' }, encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/TASKWIRE_WORKER_CAPACITY: must be from 1 to 10000, got 0/);
    const bad = spawnSync(join(PY_DIR, 'run.sh'), [], { env: { PATH: process.env['PATH'] ?? '', TASKWIRE_MQTT_URL: 'http://x' }, encoding: 'utf8', timeout: 20_000 });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/TASKWIRE_MQTT_URL/);
  });

  it.skipIf(!hasShellcheck())('its shell scripts pass shellcheck', () => {
    const r = spawnSync('shellcheck', [join(PY_DIR, 'gen_stubs.sh'), join(PY_DIR, 'run.sh')], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('has a Debian-based, non-root Dockerfile with a HEALTHCHECK and no pip', () => {
    const text = readFileSync(join(PY_DIR, 'Dockerfile'), 'utf8');
    const froms = [...text.matchAll(/^ARG DEBIAN_IMAGE=(\S+)/gm)].map((m) => m[1]);
    expect(froms).toEqual([expect.stringMatching(/^debian:/)]);
    expect(text).toMatch(/^USER (?!root)\S+/m);
    expect(text).toMatch(/^HEALTHCHECK .*\n?.*taskwire_worker\.health/m);
    expect(text).not.toMatch(/\bpip3? install\b/);
    for (const pkg of ['python3-paho-mqtt', 'python3-grpcio', 'python3-protobuf', 'python3-grpc-tools']) expect(text).toContain(pkg);
    expect(text).toMatch(/gen_stubs\.sh/);
  });
});
