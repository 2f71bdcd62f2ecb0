/**
 * A step of the suite runs one scenario and reports one or more named checks.
 * A check the step does not report because it threw is reported FAIL with the
 * error.
 */
import type { SuiteContext } from './suite-context.js';

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

export interface Reporter {
  pass(name: string, detail: string): void;
  fail(name: string, detail: string): void;
}

export interface Step {
  /** The checks this step reports, in order. */
  readonly checks: readonly string[];
  /** Steps that need a registered worker fail at once without one. */
  readonly needsWorker: boolean;
  run(ctx: SuiteContext, report: Reporter): Promise<void>;
}
