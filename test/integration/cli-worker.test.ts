/**
 * The CLI as a user drives it, with real processes from dist/: one way to find
 * the master for every client command, errors that name the URL tried,
 * `submit --no-wait` printing the id alone, `-o json` everywhere; workers that
 * take `--master host:port` / TASKWIRE_MQTT_PORT / `--mqtt-url`, never log
 * credentials, say why the broker refused them and exit non-zero, find the
 * token of a master on the same machine, and back off from a missing broker.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessGroup, type ManagedProcess, waitForHttp } from '../helpers/processes.js';
import { linearModel, tempRepo } from '../inference/onnx-fixtures.js';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.js';
import { type MasterProcess, startMasterProcess, workerReady } from '../fault/fault-cluster.js';
import { freePort } from '../helpers/ports.js';

const group = new ProcessGroup();
let dir: string;
let dataDir: string;
let m: MasterProcess;
let token: string;
let mqttPort: number;

/** Runs a client command to its end; stdout, stderr and the exit code. */
async function cli(args: string[], env: Record<string, string> = {}, timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string; p: ManagedProcess }> {
  const p = group.taskwire(`cli ${args[0]}`, args, { env: { TASKWIRE_LOG_LEVEL: 'warn', ...env }, cwd: dir });
  const exit = await p.waitForExit(timeoutMs);
  const of = (s: 'stdout' | 'stderr') => p.lines.filter((l) => l.stream === s).map((l) => l.text).join('\n');
  return { code: exit.code, stdout: of('stdout'), stderr: of('stderr'), p };
}

function worker(name: string, args: string[], env: Record<string, string>): ManagedProcess {
  return group.taskwire(name, ['worker', ...args], {
    cwd: dir, // not the master's data dir: no token is found by accident
    env: { TASKWIRE_WORKER_ID: name, TASKWIRE_WORKER_KINDS: 'echo,sleep', TASKWIRE_SHUTDOWN_GRACE_MS: '200', TASKWIRE_HEALTH_FILE: join(dir, `${name}.health`), ...env },
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'taskwire-cli-'));
  dataDir = join(dir, 'master-data');
  m = await startMasterProcess(group, { dataDir });
  mqttPort = Number(new URL(m.mqttUrl).port);
  const t = await cli(['token', '--data-dir', dataDir]);
  expect(t.code, t.stderr).toBe(0);
  token = t.stdout.trim();
  expect(token.length).toBeGreaterThan(16);
}, 60_000);

afterAll(async () => {
  await group.stopAll();
  rmSync(dir, { recursive: true, force: true });
});

describe('client commands find the master one way', () => {
  it('TASKWIRE_HTTP_PORT, TASKWIRE_URL and --url reach the master; -o json is JSON', async () => {
    const viaPort = await cli(['workers', '-o', 'json'], { TASKWIRE_HTTP_PORT: String(m.httpPort) });
    expect(viaPort.code, viaPort.stderr).toBe(0);
    expect(Array.isArray((JSON.parse(viaPort.stdout) as { workers: unknown[] }).workers)).toBe(true);
    const viaUrl = await cli(['health', '-o', 'json'], { TASKWIRE_URL: m.httpUrl });
    expect(viaUrl.code, viaUrl.stderr).toBe(0);
    expect(typeof JSON.parse(viaUrl.stdout)).toBe('object');
    // --url wins over the variables.
    const viaFlag = await cli(['health', '--url', m.httpUrl], { TASKWIRE_URL: 'http://127.0.0.1:1', TASKWIRE_HTTP_PORT: '1' });
    expect(viaFlag.code, viaFlag.stderr).toBe(0);
    expect(viaFlag.stdout).toMatch(/^ok: /);
  });

  it('submit --no-wait prints the id alone; get and cancel take -o json', async () => {
    const env = { TASKWIRE_HTTP_PORT: String(m.httpPort) };
    const sub = await cli(['submit', 'sleep', '{"ms": 60000}', '--no-wait'], env);
    expect(sub.code, sub.stderr).toBe(0);
    const id = sub.stdout.trim();
    expect(sub.stdout).toBe(id); // one line, nothing else
    expect(id).toMatch(/^[A-Za-z0-9._-]+$/);
    const got = await cli(['get', id, '-o', 'json'], env);
    expect(got.code, got.stderr).toBe(0);
    expect((JSON.parse(got.stdout) as { id: string }).id).toBe(id);
    const cancelled = await cli(['cancel', id, '-o', 'json'], env);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect((JSON.parse(cancelled.stdout) as { id: string }).id).toBe(id);
    const json = await cli(['submit', 'echo', '--text', 'x', '--no-wait', '-o', 'json'], env);
    expect((JSON.parse(json.stdout) as { kind: string }).kind).toBe('echo');
  });

  it.each([
    ['submit', 'echo', '--text', 'hi'],
    ['get', 'some-id'],
    ['workers'],
    ['cancel', 'some-id'],
    ['health'],
  ])('%s against no master names the URL it tried and exits 1', async (...args) => {
    const port = await freePort();
    const r = await cli(args, { TASKWIRE_HTTP_PORT: String(port) });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`http://127.0.0.1:${port}`);
    expect(r.stderr).toMatch(/TASKWIRE_URL/);
  });
});

describe('worker start-up', () => {
  it('--master host:port joins, and the start-up line shows no credentials', async () => {
    const w = worker('w-master-flag', ['--master', `127.0.0.1:${mqttPort}`], { TASKWIRE_CLUSTER_TOKEN: token });
    await workerReady(w);
    expect(w.output(500)).not.toContain(token);
  });

  it('TASKWIRE_MQTT_PORT is honoured like on the master', async () => {
    const w = worker('w-mqtt-port', [], { TASKWIRE_MQTT_PORT: String(mqttPort), TASKWIRE_CLUSTER_TOKEN: token });
    await workerReady(w);
  });

  it('--mqtt-url with user:TOKEN@ logs the URL with the password hidden', async () => {
    const w = worker('w-mqtt-url', ['--mqtt-url', `mqtt://w-mqtt-url:${token}@127.0.0.1:${mqttPort}`], {});
    await workerReady(w);
    const out = w.output(500);
    expect(out).not.toContain(token);
    expect(out).toContain('w-mqtt-url:***@127.0.0.1');
  });

  it.skipIf(!mosquittoAvailable() && !process.env.CI)('with an external broker, neither the master nor a worker logs the password in its URL', async () => {
    const broker = await Mosquitto.start();
    try {
      const secret = 's3cret-broker-password';
      const ext = await startMasterProcess(group, { name: 'master-ext', dataDir: join(dir, 'ext-data'), mqttUrl: `mqtt://taskwire-master:${secret}@127.0.0.1:${broker.port}` });
      const w = worker('w-ext', ['--mqtt-url', `mqtt://w-ext:${secret}@127.0.0.1:${broker.port}`], {});
      await workerReady(w);
      expect(ext.proc.output(500)).toContain('taskwire-master:***@127.0.0.1');
      expect(ext.proc.output(500)).not.toContain(secret);
      expect(w.output(500)).not.toContain(secret);
      await w.stop();
      await ext.proc.stop();
    } finally {
      await broker.stop();
    }
  }, 60_000);

  it('a worker without the token is refused, says what to do and exits non-zero (no spurious model errors)', async () => {
    const w = worker('w-no-token', ['--master', `127.0.0.1:${mqttPort}`], { TASKWIRE_WORKER_KINDS: '' });
    const exit = await w.waitForExit(20_000);
    expect(exit.code).not.toBe(0);
    const out = w.output(500);
    expect(out).toMatch(/refused/);
    expect(out).toContain('taskwire token');
    expect(out).toContain('TASKWIRE_CLUSTER_TOKEN');
    expect(out).not.toMatch(/worker online/);
    expect(out).not.toMatch(/models failed to load|reading 'state'/);
  });

  it('anonymous read-only access (as `taskwire start` allows on localhost) is not a worker login: refused, non-zero exit', async () => {
    const open = await startMasterProcess(group, { name: 'master-anon', dataDir: join(dir, 'anon-data'), env: { TASKWIRE_MQTT_ANONYMOUS_READ: 'localhost' } });
    const w = worker('w-anon', ['--master', new URL(open.mqttUrl).host], {});
    const exit = await w.waitForExit(20_000);
    expect(exit.code).not.toBe(0);
    const out = w.output(500);
    expect(out).toMatch(/(refused this worker's subscriptions|closed the connection when this worker published its status)/);
    expect(out).toContain('TASKWIRE_CLUSTER_TOKEN');
    expect(out).not.toMatch(/worker online|EPIPE/);
    await open.proc.stop();
  }, 60_000);

  it('a wrong token: one clear message, exit non-zero, no "models failed to load"', async () => {
    const w = worker('w-wrong-token', ['--master', `127.0.0.1:${mqttPort}`], { TASKWIRE_CLUSTER_TOKEN: 'not-the-token', TASKWIRE_WORKER_KINDS: '' });
    const exit = await w.waitForExit(20_000);
    expect(exit.code).not.toBe(0);
    const out = w.output(500);
    expect(out).toMatch(/refused our credentials/);
    expect(out).toContain('taskwire token');
    expect(out).not.toContain('not-the-token');
    expect(out).not.toMatch(/models failed to load|reading 'state'/);
  });

  it("on the master's machine a worker finds the token in the master's data dir", async () => {
    const w = worker('w-local-token', ['--master', `127.0.0.1:${mqttPort}`], { TASKWIRE_DATA_DIR: dataDir });
    await workerReady(w);
    expect(w.output(500)).toMatch(/using the cluster token of the local master/);
    expect(w.output(500)).not.toContain(token);
  });

  it('a worker that runs ONNX models leaves no /tmp/mat-debug-<pid>.log (onnxruntime telemetry off)', async () => {
    const repo = await tempRepo();
    try {
      await repo.add('linear', '1', linearModel([[1], [0], [0], [0]], [0]));
      const w = worker('w-onnx', ['--master', `127.0.0.1:${mqttPort}`, '--models', repo.dir, '--no-ocr'], { TASKWIRE_CLUSTER_TOKEN: token, TASKWIRE_WORKER_KINDS: 'infer' });
      await workerReady(w);
      await waitForHttp(`${m.httpUrl}/v2/models/linear/ready`, { process: w, timeoutMs: 30_000 });
      expect(existsSync(`/tmp/mat-debug-${w.pid}.log`)).toBe(false);
      await w.stop();
    } finally {
      await repo.remove();
    }
  }, 60_000);

  it('an unreachable broker: backoff with jitter, the first failure logged, not every attempt', async () => {
    const port = await freePort();
    const w = worker('w-no-broker', ['--master', `127.0.0.1:${port}`], { TASKWIRE_CLUSTER_TOKEN: token, TASKWIRE_CONNECT_TIMEOUT_MS: '6000' });
    const exit = await w.waitForExit(20_000);
    expect(exit.code).toBe(1);
    const out = w.output(500);
    expect(out).toMatch(/could not connect to the MQTT broker at mqtt:\/\/127\.0\.0\.1:\d+ within 6000 ms/);
    const warnings = w.matching(/not reachable/);
    // A fixed 500 ms retry logged ~12 warnings in 6 s; the first failure is logged once.
    expect(warnings.length).toBe(1);
    expect(warnings[0]!.text).toMatch(/retry_in_ms/);
  });
});
