/**
 * Relays one `llm` task to one OpenAI-style HTTP response (master/http/openai-gateway.ts
 * and the other /v1 routes), streamed as SSE events or as one JSON body, in the
 * wire format a ReplyFormat gives (chat completions, legacy completions,
 * responses). A stream that sent text relays one attempt only (a retry ends it
 * with a `stream_interrupted` error event).
 */
import type { Response } from 'express';
import { z } from 'zod';
import type { JsonValue } from '../../common/json-value.js';
import type { TaskChunkEvent } from '../../common/socket-events.js';
import { TERMINAL_STATUSES, type TaskView } from '../../common/task-view.js';
import { sendError, taskError, type ApiError } from './openai-errors.js';
import { SseWriter } from './sse-writer.js';

/** The part of the master's GatewayTasks a responder uses. */
export interface TaskStream {
  /** Subscribes to a task's chunks and its final state; returns the unsubscribe function. */
  watch(id: string, l: { chunk(c: TaskChunkEvent): void; done(t: TaskView): void }): () => void;
  cancel(id: string): void;
}

const toolCall = z
  .object({ id: z.string(), type: z.literal('function'), function: z.object({ name: z.string(), arguments: z.string() }).passthrough() })
  .passthrough();
export const llmResult = z
  .object({ text: z.string(), model: z.string().optional(), finish_reason: z.string().optional(), tool_calls: z.array(toolCall).optional() })
  .passthrough();
export type LlmResult = z.infer<typeof llmResult>;
/** A streamed chunk's `data`: pieces of tool calls in OpenAI's `delta.tool_calls[]` form (worker/handlers/llm/tool-calls.ts). */
const toolCallChunk = z.object({ tool_calls: z.array(z.record(z.string(), z.unknown())).min(1) }).passthrough();

const FINISH_REASONS = new Set(['stop', 'length', 'content_filter', 'tool_calls']);

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** One SSE event: `event:` line (optional) and its JSON data, or the `[DONE]` terminator. */
export interface SseEvent {
  event?: string;
  data: JsonValue | '[DONE]';
}

/** A wire format: what a stream sends at each step, and the unstreamed body. */
export interface ReplyFormat {
  /** Events that open a stream (before the first text). */
  open(): SseEvent[];
  text(text: string): SseEvent[];
  /** Optional fast path: `text(text)` already serialized (no objects built per token). */
  textSse?(text: string): string;
  /** Pieces of tool calls (formats without tools send nothing). */
  toolCalls(pieces: JsonValue[]): SseEvent[];
  /** The last events of a stream that succeeded. */
  end(r: LlmResult, finishReason: string, usage: Usage): SseEvent[];
  /** The unstreamed answer. */
  whole(r: LlmResult, finishReason: string, usage: Usage): JsonValue;
  /** The event a failure becomes once the stream has started. */
  streamError(e: ApiError): SseEvent;
}

export interface ResponderOptions {
  stream: boolean;
  ownKey: boolean;
  format: ReplyFormat;
}

/** Relays one task to one HTTP response, streamed or not; cancels the task if the client goes away. */
export class CompletionResponder {
  private settled = false;
  private streaming = false;
  /** The attempt whose text this stream relays (set by its first chunk). */
  private streamedAttempt: number | undefined;
  private unwatch: (() => void) | undefined;
  private writer: SseWriter | undefined;

  constructor(
    private readonly tasks: TaskStream,
    private readonly res: Response,
    private readonly view: TaskView,
    private readonly opts: ResponderOptions,
  ) {}

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
    if (c.text !== '') this.writer!.pushText(c.text);
    if (toolCalls) this.writer!.pushRaw(serialize(this.opts.format.toolCalls(toolCalls)));
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
    const usage = { prompt_tokens: u?.prompt_tokens ?? 0, completion_tokens: u?.completion_tokens ?? 0, total_tokens: u?.total_tokens ?? 0 };
    if (!this.opts.stream) {
      this.res.json(this.opts.format.whole(r, finishReason, usage));
      return;
    }
    this.openStream();
    this.writer!.end(serialize(this.opts.format.end(r, finishReason, usage)));
  }

  private fail(e: ApiError): void {
    if (!this.streaming) return sendError(this.res, e);
    this.writer!.end(serialize([this.opts.format.streamError(e)]));
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
    // No flushHeaders(): the headers go out in the same write as the first events.
    this.res.socket?.setNoDelay(true);
    const format = this.opts.format;
    this.writer = new SseWriter(this.res, format.textSse ? format.textSse.bind(format) : (text) => serialize(format.text(text)));
    this.writer.pushRaw(serialize(format.open()));
  }
}

/** SSE events as written on the wire. */
export function serialize(events: SseEvent[]): string {
  let out = '';
  for (const e of events) out += `${e.event ? `event: ${e.event}\n` : ''}data: ${e.data === '[DONE]' ? '[DONE]' : JSON.stringify(e.data)}\n\n`;
  return out;
}
