/** Diagnostic `echo`: returns the text, streamed word by word. */
import { setTimeout as sleep } from 'node:timers/promises';
import { formatSchemaIssue } from '../../common/schema-issue.js';
import { echoInput } from '../../common/kinds/diagnostic.js';
import { TaskFailure, type TaskContext, type TaskHandler, type TaskOutput } from './task-handler.js';

export class EchoHandler implements TaskHandler {
  readonly kind = 'echo';

  async run(ctx: TaskContext): Promise<TaskOutput> {
    const parsed = echoInput.safeParse(ctx.input);
    if (!parsed.success) throw new TaskFailure('BAD_INPUT', formatSchemaIssue(parsed.error, 'input'));
    const { text, delay_ms: delayMs = 0 } = parsed.data;
    if (!ctx.stream && delayMs === 0) return { output: { text } };
    // Words keep their trailing whitespace so the chunks concatenate to the text.
    const words = text.match(/\S+\s*|\s+/g) ?? [];
    for (let i = 0; i < words.length; i++) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      if (delayMs > 0 && i > 0) await sleep(delayMs, undefined, { signal: ctx.signal });
      ctx.emit({ text: words[i]! });
    }
    return { output: { text } };
  }
}
