/**
 * The conformance suite: runs every step against one worker implementation in
 * order, prints `PASS <check>: <detail>` / `FAIL <check>: <detail>` per check
 * and returns the counts. Steps share one worker process (the last two start
 * their own); a step that needs the worker fails at once when it is not
 * registered, so a broken worker fails fast instead of timing out everywhere.
 */
import { errorMessage } from '../common/errors.js';
import { MasterHost } from './master-host.js';
import type { CheckResult, Step } from './step.js';
import { SuiteContext, type SuiteSettings } from './suite-context.js';
import { registrationStep } from './steps/registration.js';
import { batchStep, deadlineStep, diagnosticErrorsStep, duplicateStep, echoStep, sleepStep } from './steps/diagnostics.js';
import { cancelStep, capacityStep, heartbeatStep } from './steps/leases.js';
import { lenientStep, malformedStep, tokenStep } from './steps/robustness.js';
import { drainStep, lastWillStep, reconnectStep, shutdownStep } from './steps/lifecycle.js';
import { imageStep } from './steps/images.js';

export const STEPS: readonly Step[] = [
  registrationStep,
  echoStep,
  sleepStep,
  diagnosticErrorsStep,
  heartbeatStep,
  cancelStep,
  capacityStep,
  batchStep,
  duplicateStep,
  deadlineStep,
  imageStep,
  lenientStep,
  malformedStep,
  tokenStep,
  drainStep,
  reconnectStep,
  lastWillStep,
  shutdownStep,
];

export const CHECK_NAMES: readonly string[] = STEPS.flatMap((s) => s.checks);

/** Hard limit per step (scaled), so the suite always ends on its own. */
const STEP_LIMIT_MS = 90_000;

export interface SuiteOptions extends SuiteSettings {
  /** Run only the steps that report one of these checks (registration always runs). */
  only: string[] | undefined;
  /** Heartbeat interval / lease the master uses by default. */
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
}

export interface SuiteOutcome {
  results: CheckResult[];
  passed: number;
  failed: number;
  language: string;
}

export async function runSuite(o: SuiteOptions, print: (line: string) => void): Promise<SuiteOutcome> {
  const results: CheckResult[] = [];
  const emit = (r: CheckResult) => {
    results.push(r);
    print(`${r.ok ? 'PASS' : 'FAIL'} ${r.name}: ${r.detail.replace(/\n/g, '\n    ')}`);
  };
  const host = await MasterHost.create({ verbose: o.verbose, heartbeatIntervalMs: o.heartbeatIntervalMs, heartbeatTimeoutMs: o.heartbeatTimeoutMs });
  const ctx = new SuiteContext(host, o);
  const workers = new Set<NonNullable<SuiteContext['worker']>>();
  try {
    for (const step of STEPS) {
      if (o.only && step !== registrationStep && !step.checks.some((c) => o.only!.includes(c))) continue;
      const reported = new Set<string>();
      const report = {
        pass: (name: string, detail: string) => {
          reported.add(name);
          emit({ name, ok: true, detail });
        },
        fail: (name: string, detail: string) => {
          reported.add(name);
          emit({ name, ok: false, detail });
        },
      };
      try {
        if (step.needsWorker && (!ctx.registered || !ctx.worker?.running)) {
          throw new Error(ctx.registered ? `the worker process exited (${JSON.stringify(ctx.worker?.exit)})` : 'skipped: the worker never registered');
        }
        await withLimit(step.run(ctx, report), ctx.ms(STEP_LIMIT_MS));
      } catch (err) {
        for (const name of step.checks) if (!reported.has(name)) report.fail(name, errorMessage(err));
      } finally {
        if (ctx.worker) workers.add(ctx.worker);
        try {
          ctx.cancelLeftovers();
        } catch {
          // the master may be between restarts
        }
      }
    }
  } finally {
    await Promise.allSettled([...workers].map((w) => w.stop(5000)));
    await host.close();
  }
  const failed = results.filter((r) => !r.ok).length;
  return { results, passed: results.length - failed, failed, language: ctx.language };
}

async function withLimit<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the step did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, limit]);
  } finally {
    clearTimeout(timer);
  }
}
