/**
 * The Go worker as a Go module: the committed protocol code in gen/ is what
 * gen_stubs.sh generates from proto/ today (so `go install` from a checkout
 * builds the current protocol), go.mod pins grpc-go and paho.mqtt.golang from
 * the module proxy, and the worker builds from the module cache alone.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GO_OFFLINE_ENV, GO_WORKER_DIR, goMissing } from './worker-implementations.js';
import { REPO_ROOT } from '../helpers/processes.js';

const missing = goMissing();
const temp = mkdtempSync(join(tmpdir(), 'taskwire-go-gen-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

function hasProtocGo(): boolean {
  return spawnSync('sh', ['-c', 'command -v protoc && command -v protoc-gen-go && command -v protoc-gen-go-grpc'], { stdio: 'ignore' }).status === 0;
}

describe('the Go worker module', () => {
  it('go.mod requires grpc-go, paho.mqtt.golang and protobuf-go, and go.sum pins them', () => {
    const mod = readFileSync(join(GO_WORKER_DIR, 'go.mod'), 'utf8');
    expect(mod).toMatch(/^module taskwire\/taskwire-worker$/m);
    for (const m of ['google.golang.org/grpc', 'github.com/eclipse/paho.mqtt.golang', 'google.golang.org/protobuf']) {
      expect(mod).toMatch(new RegExp(`^\\s+${m.replace(/\./g, '\\.')} v\\d+\\.\\d+\\.\\d+$`, 'm'));
      expect(readFileSync(join(GO_WORKER_DIR, 'go.sum'), 'utf8')).toContain(`${m} `);
    }
  });

  it.skipIf(!hasProtocGo())('the committed gen/ is what gen_stubs.sh generates from proto/', () => {
    const out = join(temp, 'taskwirev1');
    execFileSync('sh', [join(GO_WORKER_DIR, 'gen_stubs.sh'), join(REPO_ROOT, 'proto'), out], { stdio: 'pipe' });
    const committed = join(GO_WORKER_DIR, 'gen', 'taskwirev1');
    const files = readdirSync(out).sort();
    expect(readdirSync(committed).sort()).toEqual(files);
    for (const f of files) expect(readFileSync(join(committed, f), 'utf8'), f).toBe(readFileSync(join(out, f), 'utf8'));
  });

  it.skipIf(missing !== undefined)(`go install builds the taskwire-worker command from the module cache alone${missing ? ` (skipped: ${missing})` : ''}`, () => {
    const bin = join(temp, 'bin');
    execFileSync('go', ['install', '.'], { cwd: GO_WORKER_DIR, env: { ...GO_OFFLINE_ENV, GOBIN: bin }, stdio: 'pipe', timeout: 240_000 });
    const r = spawnSync(join(bin, 'taskwire-worker'), [], { env: { PATH: process.env['PATH'] ?? '', TASKWIRE_WORKER_CAPACITY: '0' }, encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/TASKWIRE_WORKER_CAPACITY: must be from 1 to 10000, got 0/);
  }, 250_000);

  it.skipIf(missing !== undefined)(`go vet passes with the module cache alone${missing ? ` (skipped: ${missing})` : ''}`, () => {
    const r = spawnSync('go', ['vet', './...'], { cwd: GO_WORKER_DIR, env: GO_OFFLINE_ENV, encoding: 'utf8', timeout: 240_000 });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, 250_000);
});
