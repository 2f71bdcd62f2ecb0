/**
 * The Python worker as users pip-install it: the wheel is built from
 * worker/python (stubs generated from proto/ by the build), installed into a
 * fresh virtual environment, and the installed `taskwire-worker` command
 * passes the whole conformance suite. Offline: the build and runtime
 * dependencies come from worker/python/.wheelhouse, which .ci/run fills from
 * PyPI (`pip wheel`); skipped with the reason only when it is missing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ProcessGroup, REPO_ROOT } from '../helpers/processes.js';

const PY_DIR = join(REPO_ROOT, 'worker', 'python');
const WHEELHOUSE = join(PY_DIR, '.wheelhouse');
const CLI = join(REPO_ROOT, 'dist', 'conformance', 'cli.js');
const PYTHON = process.env['TASKWIRE_TEST_PYTHON'] ?? 'python3';
const temp = mkdtempSync(join(tmpdir(), 'taskwire-py-wheel-'));
const group = new ProcessGroup();
afterAll(async () => {
  await group.stopAll();
  rmSync(temp, { recursive: true, force: true });
});

function whyMissing(): string | undefined {
  if (!existsSync(WHEELHOUSE)) return `no ${WHEELHOUSE} (bash .ci/run fills it: python3 -m pip wheel --wheel-dir worker/python/.wheelhouse ./worker/python setuptools grpcio-tools)`;
  if (!existsSync(CLI)) return `${CLI} is not built (npm run build)`;
  return undefined;
}
const missing = whyMissing();
const offline = { ...process.env, PIP_NO_INDEX: '1', PIP_FIND_LINKS: WHEELHOUSE, PIP_DISABLE_PIP_VERSION_CHECK: '1' };

describe('the Python worker wheel', () => {
  it.skipIf(missing !== undefined)(`builds, installs into a fresh venv and the taskwire-worker command passes every check${missing ? ` (skipped: ${missing})` : ''}`, async () => {
    const dist = join(temp, 'dist');
    execFileSync(PYTHON, ['-m', 'pip', 'wheel', '-q', '--no-deps', '--wheel-dir', dist, PY_DIR], { env: offline, stdio: 'pipe', timeout: 240_000 });
    const wheels = readdirSync(dist).filter((f) => f.endsWith('.whl'));
    expect(wheels).toEqual(['taskwire_worker-0.1.0-py3-none-any.whl']);
    const venv = join(temp, 'venv');
    execFileSync(PYTHON, ['-m', 'venv', venv], { stdio: 'pipe', timeout: 120_000 });
    execFileSync(join(venv, 'bin', 'pip'), ['install', '-q', join(dist, wheels[0]!)], { env: offline, stdio: 'pipe', timeout: 240_000 });
    // The stubs are in the package, not taken from the checkout.
    const where = execFileSync(join(venv, 'bin', 'python'), ['-c', 'from taskwire_worker import stubs; print(stubs.GEN_DIR)'], { cwd: temp, encoding: 'utf8' });
    expect(where.trim()).toBe(join(venv, 'lib', readdirSync(join(venv, 'lib'))[0]!, 'site-packages', 'taskwire_worker', '_gen'));

    const command = join(venv, 'bin', 'taskwire-worker');
    const p = group.spawn('conformance-wheel', process.execPath, [CLI, '--worker-cmd', JSON.stringify(command), '--time-scale', '2']);
    const exit = await p.waitForExit(200_000);
    const out = p.output();
    expect(out).not.toMatch(/^FAIL /m);
    expect(out).toMatch(/conformance \(python\): \d+ passed, 0 failed$/m);
    expect(exit.code, out).toBe(0);
  }, 600_000);
});
