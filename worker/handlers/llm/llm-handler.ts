/**
 * The `llm` task handler: picks the provider serving the requested model,
 * streams every delta to the user with ctx.emit({text}), and returns
 * `{ output: { text, model, provider, finish_reason, ttft_ms }, usage }`.
 *
 * A user's own key comes from `ctx.secrets().provider_api_key` and is used for
 * that task only; it is never logged and is scrubbed from error messages.
 * Retryable failures count toward the provider's cool-down (see
 * provider-health.ts), except a 429 under a user's own key, which says nothing
 * about the shared key.
 */
import type { Clock } from '../../../common/clock.js';
import { systemClock } from '../../../common/clock.js';
import { llmInput, type LlmInput } from '../../../common/kinds/llm.js';
import type { JsonValue } from '../../../common/json-value.js';
import type { Logger } from '../../../common/logger.js';
import type { ModelInfo } from '../../../common/wire.js';
import { parseTaskInput, TaskFailure, type TaskContext, type TaskHandler, type TaskOutput } from '../task-handler.js';
import type { LlmFinish, LlmProvider, LlmRequest } from './llm-provider.js';
import { transportFailure } from './provider-errors.js';
import { ProviderHealth } from './provider-health.js';
import { ToolCallAccumulator, toolCallChunk } from './tool-calls.js';

export const USER_KEY_SECRET = 'provider_api_key';

export interface LlmHandlerOptions {
  /** In order of preference when a task names no model. */
  providers: readonly LlmProvider[];
  cooldownMs: number;
  failureThreshold: number;
  logger: Logger;
  clock?: Clock;
  /** Providers that cannot run without a key (Gemini): a task then needs the user's own key. */
  keyless?: ReadonlySet<LlmProvider>;
}

interface ProviderEntry {
  provider: LlmProvider;
  health: ProviderHealth;
}

export class LlmHandler implements TaskHandler {
  readonly kind = 'llm';
  private readonly entries: ProviderEntry[];
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly keyless: ReadonlySet<LlmProvider>;
  private listener: (() => void) | undefined;
  private closed = false;

  constructor(options: LlmHandlerOptions) {
    this.logger = options.logger;
    this.clock = options.clock ?? systemClock;
    this.keyless = options.keyless ?? new Set();
    this.entries = options.providers.map((provider) => ({
      provider,
      health: new ProviderHealth({
        failureThreshold: options.failureThreshold,
        cooldownMs: options.cooldownMs,
        clock: this.clock,
        onChange: () => this.changed(),
      }),
    }));
  }

  /** Provider names and their models (for start-up logs). */
  describe(): { provider: string; models: string[] }[] {
    return this.entries.map((e) => ({ provider: e.provider.name, models: [...e.provider.models()] }));
  }

  models(): ModelInfo[] {
    return this.entries.flatMap((e) =>
      e.provider.models().map((name) => ({
        kind: 'llm',
        name,
        versions: [],
        ready: e.health.ready(),
        provider: e.provider.name,
        execution_provider: '',
        // When a cool-down ends, so the gateway can answer 503 with Retry-After instead of queueing.
        cooldown_until_ms: e.health.ready() ? 0 : this.clock.now() + e.health.remainingMs(),
      })),
    );
  }

  onChange(listener: () => void): void {
    this.listener = listener;
  }

  async run(ctx: TaskContext): Promise<TaskOutput> {
    if (this.closed) throw new TaskFailure('PROVIDER_UNAVAILABLE', 'llm handler is closed', { retryable: true });
    const input = parseTaskInput(llmInput, ctx.input);
    const { entry, model } = this.route(input);
    const { provider, health } = entry;
    if (!health.ready()) {
      const s = Math.ceil(health.remainingMs() / 1000);
      throw new TaskFailure('PROVIDER_UNAVAILABLE', `${provider.name} is cooling down for ${s}s after repeated failures`, {
        retryable: true,
      });
    }
    const secrets = await ctx.secrets();
    const userKey = secrets[USER_KEY_SECRET]?.trim() || undefined;
    if (!userKey && this.keyless.has(provider)) {
      throw new TaskFailure('PROVIDER_AUTH', `${provider.name}: no API key configured on this worker; supply your own key`);
    }
    const request: LlmRequest = { model, messages: input.messages };
    if (input.temperature !== undefined) request.temperature = input.temperature;
    if (input.top_p !== undefined) request.top_p = input.top_p;
    if (input.max_tokens !== undefined) request.max_tokens = input.max_tokens;
    if (input.stop !== undefined) request.stop = input.stop;
    if (input.response_format !== undefined) request.response_format = input.response_format;
    if (input.seed !== undefined) request.seed = input.seed;
    if (input.presence_penalty !== undefined) request.presence_penalty = input.presence_penalty;
    if (input.frequency_penalty !== undefined) request.frequency_penalty = input.frequency_penalty;
    if (input.logit_bias !== undefined) request.logit_bias = input.logit_bias;
    if (input.user !== undefined) request.user = input.user;
    if (input.tools !== undefined) request.tools = input.tools;
    if (input.tool_choice !== undefined) request.tool_choice = input.tool_choice;
    if (input.parallel_tool_calls !== undefined) request.parallel_tool_calls = input.parallel_tool_calls;
    if (userKey) request.apiKey = userKey;

    const started = this.clock.now();
    let ttftMs: number | null = null;
    let text = '';
    let finish: LlmFinish | undefined;
    const toolCalls = new ToolCallAccumulator(provider.name);
    const call = ctx.telemetry?.providerCall(provider.name, model);
    try {
      for await (const ev of provider.stream(request, ctx.signal)) {
        if (ev.type === 'delta') {
          if (ttftMs === null) {
            ttftMs = this.clock.now() - started;
            call?.firstToken();
          }
          text += ev.text;
          ctx.emit({ text: ev.text });
        } else if (ev.type === 'tool_call') {
          if (ttftMs === null) {
            ttftMs = this.clock.now() - started;
            call?.firstToken();
          }
          toolCalls.add(ev);
          // Streamed as OpenAI's delta.tool_calls[] (the gateway relays it as is).
          ctx.emit({ data: { tool_calls: [toolCallChunk(ev)] } as JsonValue });
        } else {
          finish = ev;
        }
      }
      if (!finish) throw new TaskFailure('PROVIDER_ERROR', `${provider.name}: stream ended without a result`);
    } catch (err) {
      const failure = transportFailure(provider.name, err, ctx.signal, userKey);
      call?.end({ code: failure.code });
      const counts = failure.retryable && !(userKey && failure.code === 'PROVIDER_RATE_LIMIT');
      if (counts && health.recordFailure()) {
        this.logger.warn({ provider: provider.name }, `${provider.name} failed repeatedly; cooling down`);
      }
      ctx.log.info({ provider: provider.name, model, code: failure.code, retryable: failure.retryable }, 'llm task failed');
      throw failure;
    }
    call?.end(finish.usage ? { usage: finish.usage } : {});
    health.recordSuccess();
    // Logged on a timer: it then runs after the final result has been flushed
    // (the reporter flushes with setImmediate), so the log costs the answer nothing.
    const fin = finish;
    setTimeout(() =>
      ctx.log.info(
        { provider: provider.name, model: fin.model, ttft_ms: ttftMs, usage: fin.usage ?? null, user_key: Boolean(userKey) },
        'llm task finished',
      ),
    ).unref();
    const output: { [k: string]: JsonValue } = { text, model: finish.model, provider: provider.name, finish_reason: finish.finishReason, ttft_ms: ttftMs };
    if (toolCalls.size > 0) output['tool_calls'] = toolCalls.result();
    const out: TaskOutput = { output };
    if (finish.usage) out.usage = finish.usage;
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const e of this.entries) e.health.close();
  }

  private changed(): void {
    if (this.closed) return;
    try {
      this.listener?.();
    } catch (err) {
      this.logger.warn({ err }, 'llm onChange listener threw');
    }
  }

  private route(input: LlmInput): { entry: ProviderEntry; model: string } {
    let candidates = this.entries;
    if (input.provider !== undefined) {
      candidates = candidates.filter((e) => e.provider.name === input.provider);
      if (candidates.length === 0) {
        throw new TaskFailure('UNSUPPORTED', `provider ${input.provider} is not configured on this worker`);
      }
    }
    if (input.model !== undefined) {
      const model = input.model;
      const serving = candidates.filter((e) => e.provider.models().includes(model));
      const entry = serving.find((e) => e.health.ready()) ?? serving[0];
      if (!entry) throw new TaskFailure('MODEL_NOT_FOUND', `model ${model} is not served by this worker`);
      return { entry, model };
    }
    const withModels = candidates.filter((e) => e.provider.models().length > 0);
    const entry = withModels.find((e) => e.health.ready()) ?? withModels[0];
    const model = entry?.provider.models()[0];
    if (!entry || model === undefined) throw new TaskFailure('MODEL_NOT_FOUND', 'no model is served by this worker');
    return { entry, model };
  }
}
