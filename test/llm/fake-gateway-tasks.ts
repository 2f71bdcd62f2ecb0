/**
 * An in-memory test double of the master's GatewayTasks: validates input like
 * the master does, then "runs" each task by a script (chunks, then success or
 * failure, or hang until cancelled), delivering events asynchronously.
 */
import { ValidationError } from '../../common/errors.js';
import type { JsonValue } from '../../common/json-value.js';
import { llmInput } from '../../common/kinds/llm.js';
import type { TaskChunkEvent } from '../../common/socket-events.js';
import type { TaskStatus, TaskUsageView, TaskView } from '../../common/task-view.js';
import type { GatewayTasks } from '../../master/http/openai-gateway.js';

export interface TaskScript {
  chunks?: string[];
  /** Chunks of earlier attempts, each cut off and retried; `chunks` is then the last attempt's. */
  cutAttempts?: string[][];
  /** Default: succeed with the chunks joined. */
  fail?: { code: string; message: string };
  /** Never finishes (until cancelled). */
  hang?: boolean;
  result?: JsonValue;
  usage?: TaskUsageView | null;
}

type Listener = { chunk(c: TaskChunkEvent): void; done(t: TaskView): void };

export class FakeGatewayTasks implements GatewayTasks {
  readonly submitted: { kind: 'llm'; input: JsonValue; secrets?: Record<string, string> }[] = [];
  readonly cancelled: string[] = [];
  script: TaskScript = { chunks: ['Hello', ' world'] };
  /** Thrown by the next submits (as the master refuses: ValidationError, ResourceExhaustedError, ...). */
  submitError: Error | undefined;
  modelList: { id: string; owned_by: string }[] = [
    { id: 'm1', owned_by: 'openai' },
    { id: 'gemini-2.5-flash', owned_by: 'gemini' },
  ];
  private readonly listeners = new Map<string, Listener>();
  private cancelWaiters: (() => void)[] = [];
  private seq = 0;

  models(): { id: string; owned_by: string }[] {
    return this.modelList;
  }

  submit(req: { kind: 'llm'; input: JsonValue; secrets?: Record<string, string> }): TaskView {
    const parsed = llmInput.safeParse(req.input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ValidationError(['input', ...(issue?.path ?? []).map(String)].join('.'), issue?.message ?? 'invalid');
    }
    if (this.submitError) throw this.submitError;
    this.submitted.push(req);
    const id = `task-${++this.seq}`;
    const script = this.script;
    setImmediate(() => void this.play(id, script));
    return view(id, 'queued');
  }

  watch(id: string, l: Listener): () => void {
    this.listeners.set(id, l);
    return () => {
      if (this.listeners.get(id) === l) this.listeners.delete(id);
    };
  }

  cancel(id: string): void {
    this.cancelled.push(id);
    this.listeners.delete(id);
    for (const w of this.cancelWaiters.splice(0)) w();
  }

  watching(): number {
    return this.listeners.size;
  }

  /** Resolves once some task was cancelled. */
  untilCancelled(): Promise<void> {
    return this.cancelled.length > 0 ? Promise.resolve() : new Promise((resolve) => this.cancelWaiters.push(resolve));
  }

  private async play(id: string, s: TaskScript): Promise<void> {
    const chunks = s.chunks ?? [];
    const attempts = [...(s.cutAttempts ?? []), chunks];
    for (const [a, texts] of attempts.entries()) {
      for (let i = 0; i < texts.length; i++) {
        await new Promise((r) => setImmediate(r));
        this.listeners.get(id)?.chunk({ id, attempt: a + 1, seq: i, text: texts[i]!, data: null });
      }
    }
    const attempt = attempts.length;
    if (s.hang) return;
    await new Promise((r) => setImmediate(r));
    const l = this.listeners.get(id);
    if (!l) return;
    if (s.fail) {
      l.done({ ...view(id, 'failed'), attempt, error: s.fail });
      return;
    }
    const text = chunks.join('');
    l.done({
      ...view(id, 'succeeded'),
      attempt,
      result: s.result ?? { text, model: 'm1-2025', provider: 'openai', finish_reason: 'stop', ttft_ms: 1 },
      usage: s.usage === undefined ? { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 } : s.usage,
    });
  }
}

function view(id: string, status: TaskStatus): TaskView {
  return {
    id,
    kind: 'llm',
    status,
    priority: 0,
    attempt: 1,
    worker_id: null,
    worker_language: null,
    created_at: new Date(0).toISOString(),
    finished_at: null,
    result: null,
    error: null,
    timings: { queue_wait_ms: null, processing_ms: null, total_ms: null, ttft_ms: null },
    usage: null,
    history: [],
  };
}
