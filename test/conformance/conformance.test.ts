/**
 * Runs the conformance suite (conformance/, as a child process, bounded time)
 * against every worker implementation in the repo, and checks that the suite
 * itself fails a worker that breaks the protocol.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessGroup, REPO_ROOT } from '../helpers/processes.js';
import { prepareImplementation, workerImplementations } from './worker-implementations.js';

const CLI = join(REPO_ROOT, 'dist', 'conformance', 'cli.js');
const SUITE_LIMIT_MS = 150_000;
const group = new ProcessGroup();

interface SuiteRun {
  code: number | null;
  lines: string[];
  passed: string[];
  failed: string[];
  summary: string | undefined;
}

async function runConformance(args: string[], timeoutMs = SUITE_LIMIT_MS): Promise<SuiteRun> {
  const p = group.spawn('conformance', process.execPath, [CLI, ...args]);
  const exit = await p.waitForExit(timeoutMs).catch(async (err: Error) => {
    await p.stop(1000);
    throw err;
  });
  const lines = p.lines.map((l) => l.text);
  return {
    code: exit.code,
    lines,
    passed: lines.filter((l) => l.startsWith('PASS ')).map((l) => l.slice(5).split(':')[0]!),
    failed: lines.filter((l) => l.startsWith('FAIL ')),
    summary: lines.find((l) => /\d+ passed, \d+ failed$/.test(l)),
  };
}

let checks: string[] = [];
/** language -> check -> PASS/FAIL (absent: not run); printed as one table after the suite. */
const table = new Map<string, Map<string, string>>();

function printTable(): void {
  if (checks.length === 0) return;
  const langs = workerImplementations().map((i) => i.language);
  const width = Math.max(...checks.map((c) => c.length), 'check'.length);
  const col = (s: string) => s.padEnd(Math.max(10, ...langs.map((l) => l.length)) + 2);
  const lines = [`${'check'.padEnd(width)}  ${langs.map(col).join('')}`];
  for (const c of checks) lines.push(`${c.padEnd(width)}  ${langs.map((l) => col(table.get(l)?.get(c) ?? (table.has(l) ? '-' : 'skipped'))).join('')}`);
  const totals = langs.map((l) => {
    const r = table.get(l);
    return col(r ? `${[...r.values()].filter((v) => v === 'PASS').length}/${checks.length}` : 'skipped');
  });
  lines.push(`${'passed'.padEnd(width)}  ${totals.join('')}`);
  console.log(`conformance: worker x check\n${lines.join('\n')}`);
}

/** True when dist/conformance is older than a conformance/ source (or missing). */
function conformanceStale(): boolean {
  if (!existsSync(CLI)) return true;
  const built = statSync(CLI).mtimeMs;
  return readdirSync(join(REPO_ROOT, 'conformance'), { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.ts'))
    .some((f) => statSync(join(REPO_ROOT, 'conformance', f)).mtimeMs > built);
}

beforeAll(() => {
  // `npm run build` (npm test's pretest) builds the suite into dist/conformance. Compiling it again
  // here rewrote the dist/common files it imports while other test files were starting the CLI from
  // them (a half-written module: "does not provide an export named ..."), so only when stale.
  if (conformanceStale()) {
    execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(REPO_ROOT, 'conformance', 'tsconfig.json')], {
      cwd: REPO_ROOT,
      stdio: 'pipe',
      timeout: 170_000,
    });
  }
  checks = execFileSync(process.execPath, [CLI, '--list'], { encoding: 'utf8' }).trim().split('\n');
}, 180_000);

afterAll(async () => {
  printTable();
  await group.stopAll();
});

describe('conformance suite', () => {
  it('lists the checks the protocol needs', () => {
    for (const c of ['registration', 'last-will', 'echo-streaming', 'heartbeats', 'cancel', 'drain-resume', 'wrong-token-refused', 'malformed-ignored', 'batch', 'capacity', 'reconnect', 'graceful-shutdown']) {
      expect(checks).toContain(c);
    }
  });

  for (const impl of workerImplementations()) {
    it.skipIf(impl.missing !== undefined)(`the ${impl.language} worker passes every check${impl.missing ? ` (skipped: ${impl.missing})` : ''}`, async () => {
      prepareImplementation(impl);
      // --time-scale 2: generous waits on a loaded CI machine (only a failing run gets slower).
      const run = await runConformance(['--worker-cmd', impl.command, '--time-scale', '2']);
      const out = run.lines.join('\n');
      const row = new Map<string, string>();
      for (const l of run.lines) {
        const m = /^(PASS|FAIL) ([a-z0-9-]+):/.exec(l);
        if (m) row.set(m[2]!, m[1]!);
      }
      table.set(impl.language, row);
      expect(run.failed, out).toEqual([]);
      expect(run.passed.sort(), out).toEqual([...checks].sort());
      expect(run.summary, out).toMatch(new RegExp(`\\(${impl.language}\\): ${checks.length} passed, 0 failed$`));
      expect(run.code, out).toBe(0);
    }, SUITE_LIMIT_MS + 310_000);
  }

  it('fails a worker that never registers, quickly and with a reason per check', async () => {
    const run = await runConformance(['--worker-cmd', `${JSON.stringify(process.execPath)} -e "process.exit(3)"`], 90_000);
    const out = run.lines.join('\n');
    expect(run.code, out).toBe(1);
    expect(run.passed, out).toEqual([]);
    expect(run.failed[0], out).toMatch(/^FAIL registration: no ONLINE status/);
    expect(run.failed.length, out).toBe(checks.length);
    expect(run.summary, out).toMatch(new RegExp(`0 passed, ${checks.length} failed$`));
  }, 100_000);

  it('fails a worker that announces a capacity other than the one it was given', async () => {
    const ts = workerImplementations().find((i) => i.language === 'typescript')!;
    const run = await runConformance(['--worker-cmd', ts.command, '--env', 'TASKWIRE_WORKER_CAPACITY=2', '--only', 'registration'], 90_000);
    const out = run.lines.join('\n');
    expect(run.code, out).toBe(1);
    expect(run.failed.join('\n'), out).toMatch(/^FAIL registration: capacity 2, expected 4/);
  }, 100_000);

  it('refuses a missing --worker-cmd with a usage error', async () => {
    const run = await runConformance([], 30_000);
    expect(run.code).toBe(2);
    expect(run.lines.join('\n')).toMatch(/--worker-cmd is required/);
  });
});
