/** Diagnostic `sleep`: waits `ms` milliseconds (simulated long processing). */
import { setTimeout as sleep } from 'node:timers/promises';
import { formatSchemaIssue } from '../../common/schema-issue.js';
import { sleepInput } from '../../common/kinds/diagnostic.js';
import { TaskFailure, type TaskContext, type TaskHandler, type TaskOutput } from './task-handler.js';

export class SleepHandler implements TaskHandler {
  readonly kind = 'sleep';

  async run(ctx: TaskContext): Promise<TaskOutput> {
    const parsed = sleepInput.safeParse(ctx.input);
    if (!parsed.success) throw new TaskFailure('BAD_INPUT', formatSchemaIssue(parsed.error, 'input'));
    const started = Date.now();
    await sleep(parsed.data.ms, undefined, { signal: ctx.signal });
    return { output: { slept_ms: Date.now() - started } };
  }
}
