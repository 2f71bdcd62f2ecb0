/**
 * CPU time and memory per attempt in the Python and Go workers (Usage.cpu_us,
 * mem_mib_ms; docs/PROTOCOL.md §7.5):
 * - the Python worker's own unit test of the splitting rule (worker/python/tests,
 *   python3 -m unittest; the Go one is `go test` in worker/go, run by .ci/run);
 * - the real worker under the conformance CLI (`--only sleep,resource-usage`):
 *   its sleep's final reports cpu_us > 0 and mem_mib_ms > 0, and the suite's
 *   resource-usage check (whole numbers, within the machine's cores and memory
 *   over the attempt) passes them.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ProcessGroup, REPO_ROOT } from '../helpers/processes.js';
import { PYTHON, prepareImplementation, pythonMissing, workerImplementations } from './worker-implementations.js';

const CLI = join(REPO_ROOT, 'dist', 'conformance', 'cli.js');
const cliMissing = existsSync(CLI) ? undefined : `${CLI} is not built (npm run build)`;
const group = new ProcessGroup();

afterAll(async () => {
  await group.stopAll();
});

describe('Python worker: the splitting rule (worker/python/tests/test_resources.py)', () => {
  const missing = pythonMissing();
  it.skipIf(missing !== undefined)(`passes its unit tests${missing ? ` (skipped: ${missing})` : ''}`, () => {
    const out = execFileSync(PYTHON, ['-m', 'unittest', 'discover', '-s', 'tests', '-v'], {
      cwd: join(REPO_ROOT, 'worker', 'python'),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    expect(out).toBe(''); // unittest writes to stderr; a failure throws
  }, 70_000);
});

describe('the worker reports its sleep attempt\'s CPU time and memory', () => {
  for (const impl of workerImplementations().filter((i) => i.language === 'python' || i.language === 'go')) {
    const missing = impl.missing ?? cliMissing;
    it.skipIf(missing !== undefined)(`${impl.language}: cpu_us > 0 and mem_mib_ms > 0 pass resource-usage${missing ? ` (skipped: ${missing})` : ''}`, async () => {
      prepareImplementation(impl);
      const p = group.spawn(`conformance-${impl.language}`, process.execPath, [CLI, '--worker-cmd', impl.command, '--only', 'sleep,resource-usage', '--time-scale', '2']);
      const exit = await p.waitForExit(120_000);
      const out = p.lines.map((l) => l.text).join('\n');
      expect(exit.code, out).toBe(0);
      const m = /^PASS resource-usage: cpu_us=(\d+) mem_mib_ms=(\d+) over \d+ ms$/m.exec(out);
      expect(m, out).not.toBeNull();
      expect(Number(m![1]), out).toBeGreaterThan(0);
      expect(Number(m![2]), out).toBeGreaterThan(0);
    }, 130_000);
  }
});
