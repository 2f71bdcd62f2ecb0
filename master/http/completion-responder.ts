/**
 * Relays one `llm` task to one OpenAI-style HTTP response (master/http/openai-gateway.ts),
 * streamed as SSE chunks or as one `chat.completion`; a stream that sent text
 * relays one attempt only (a retry ends it with a `stream_interrupted` error event).
 */
import type { Response } from 'express';
import { z } from 'zod';
import type { JsonValue } from '../../common/json-value.js';
import type { TaskChunkEvent } from '../../common/socket-events.js';
import { TERMINAL_STATUSES, type TaskView } from '../../common/task-view.js';
import { sendError, taskError, type ApiError } from './openai-errors.js';

/** The part of the master's GatewayTasks a responder uses. */
export interface TaskStream {
  /** Subscribes to a task's chunks and its final state; returns the unsubscribe function. */
  watch(id: string, l: { chunk(c: TaskChunkEvent): void; done(t: TaskView): void }): () => void;
  cancel(id: string): void;
}

const toolCall = z
  .object({ id: z.string(), type: z.literal('function'), function: z.object({ name: z.string(), arguments: z.string() }).passthrough() })
  .passthrough();
const llmResult = z
  .object({ text: z.string(), model: z.string().optional(), finish_reason: z.string().optional(), tool_calls: z.array(toolCall).optional() })
  .passthrough();
/** A streamed chunk's `data`: pieces of tool calls in OpenAI's `delta.tool_calls[]` form (worker/handlers/llm/tool-calls.ts). */
const toolCallChunk = z.object({ tool_calls: z.array(z.record(z.string(), z.unknown())).min(1) }).passthrough();

const FINISH_REASONS = new Set(['stop', 'length', 'content_filter', 'tool_calls']);

export interface ResponderOptions {
  model: string;
  stream: boolean;
  includeUsage: boolean;
  ownKey: boolean;
  created: number;
}

/** Relays one task to one HTTP response, streamed or not; cancels the task if the client goes away. */
export class CompletionResponder {
  private readonly id: string;
  private settled = false;
  private streaming = false;
  /** The attempt whose text this stream relays (set by its first chunk). */
  private streamedAttempt: number | undefined;
  private unwatch: (() => void) | undefined;

  constructor(
    private readonly tasks: TaskStream,
    private readonly res: Response,
    private readonly view: TaskView,
    private readonly opts: ResponderOptions,
  ) {
    this.id = `chatcmpl-${view.id}`;
  }

  start(): void {
    if (TERMINAL_STATUSES.has(this.view.status)) return this.finish(this.view);
    this.res.on('close', () => {
      if (this.settled) return;
      this.settled = true;
      this.unwatch?.();
      this.tasks.cancel(this.view.id);
    });
    const unwatch = this.tasks.watch(this.view.id, {
      chunk: (c) => this.chunk(c),
      done: (t) => this.finish(t),
    });
    if (this.settled) unwatch();
    else this.unwatch = unwatch;
  }

  private chunk(c: TaskChunkEvent): void {
    if (this.settled || !this.opts.stream || c.id !== this.view.id) return;
    const calls = c.data === null ? undefined : toolCallChunk.safeParse(c.data);
    const toolCalls = calls?.success ? (calls.data.tool_calls as JsonValue[]) : undefined;
    if (c.text === '' && !toolCalls) return;
    if (this.streamedAttempt !== undefined && c.attempt !== this.streamedAttempt) return this.interrupted(c.attempt);
    this.streamedAttempt = c.attempt;
    this.openStream();
    if (c.text !== '') this.send(this.chunkBody({ content: c.text }, null));
    if (toolCalls) this.send(this.chunkBody({ tool_calls: toolCalls }, null));
  }

  /**
   * The task was retried after this stream sent text: sent text cannot be taken
   * back, so the stream ends with an error event (as LiteLLM does) instead of
   * gluing two attempts together. The task runs on; its result stays readable
   * under its id (`GET /api/v1/tasks/<id>`).
   */
  private interrupted(attempt: number): void {
    if (this.settled) return;
    this.settled = true;
    this.unwatch?.();
    this.fail({
      status: 502,
      message: `The model's stream broke off after part of the answer was sent; the task is being retried (attempt ${attempt}) and a streamed reply cannot take back text. Send the request again.`,
      type: 'server_error',
      code: 'stream_interrupted',
    });
  }

  private finish(t: TaskView): void {
    if (this.settled) return;
    if (this.streaming && this.streamedAttempt !== undefined && t.attempt !== this.streamedAttempt) return this.interrupted(t.attempt);
    this.settled = true;
    this.unwatch?.();
    const result = t.status === 'succeeded' ? llmResult.safeParse(t.result) : undefined;
    if (result && !result.success) {
      return this.fail({ status: 502, message: 'worker returned an unexpected llm result', type: 'server_error', code: 'bad_result' });
    }
    if (!result) return this.fail(taskError(t, this.opts.ownKey));
    const r = result.data;
    const finishReason = r.finish_reason && FINISH_REASONS.has(r.finish_reason) ? r.finish_reason : 'stop';
    const u = t.usage;
    const usage = {
      prompt_tokens: u?.prompt_tokens ?? 0,
      completion_tokens: u?.completion_tokens ?? 0,
      total_tokens: u?.total_tokens ?? 0,
    };
    if (!this.opts.stream) {
      this.res.json({
        id: this.id,
        object: 'chat.completion',
        created: this.opts.created,
        model: r.model ?? this.opts.model,
        choices: [{ index: 0, message: this.message(r), logprobs: null, finish_reason: finishReason }],
        usage,
      });
      return;
    }
    this.openStream();
    this.send(this.chunkBody({}, finishReason));
    if (this.opts.includeUsage) {
      this.send({ id: this.id, object: 'chat.completion.chunk', created: this.opts.created, model: this.opts.model, choices: [], usage });
    }
    this.res.end('data: [DONE]\n\n');
  }

  private message(r: z.infer<typeof llmResult>): Record<string, JsonValue> {
    const calls = r.tool_calls ?? [];
    if (calls.length === 0) return { role: 'assistant', content: r.text, refusal: null };
    return { role: 'assistant', content: r.text === '' ? null : r.text, refusal: null, tool_calls: calls as JsonValue[] };
  }

  private fail(e: ApiError): void {
    if (!this.streaming) return sendError(this.res, e);
    this.send({ error: { message: e.message, type: e.type, param: e.param ?? null, code: e.code } });
    this.res.end();
  }

  private openStream(): void {
    if (this.streaming) return;
    this.streaming = true;
    this.res.status(200);
    this.res.set({
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    this.res.flushHeaders();
    this.res.socket?.setNoDelay(true);
    this.send(this.chunkBody({ role: 'assistant', content: '', refusal: null }, null));
  }

  private chunkBody(delta: Record<string, JsonValue>, finishReason: string | null): Record<string, JsonValue> {
    const body: Record<string, JsonValue> = {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.opts.created,
      model: this.opts.model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    };
    if (this.opts.includeUsage) body['usage'] = null;
    return body;
  }

  private send(body: Record<string, JsonValue>): void {
    this.res.write(`data: ${JSON.stringify(body)}\n\n`);
  }
}
