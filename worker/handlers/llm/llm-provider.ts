/**
 * The one interface every LLM backend adapter implements (Gemini REST,
 * OpenAI-compatible chat completions, Ollama through its OpenAI API).
 * Adapters throw `TaskFailure` with a provider code (PROVIDER_AUTH,
 * PROVIDER_RATE_LIMIT, PROVIDER_UNAVAILABLE, PROVIDER_ERROR, SAFETY_BLOCKED,
 * BAD_INPUT, MODEL_NOT_FOUND, CANCELLED); nothing else escapes them.
 */
import type { LlmMessage, LlmProviderName, LlmResponseFormat, LlmTool, LlmToolCall, LlmToolChoice } from '../../../common/kinds/llm.js';
import type { TaskUsage } from '../task-handler.js';

export type { LlmMessage, LlmProviderName, LlmToolCall } from '../../../common/kinds/llm.js';

export interface LlmRequest {
  model: string;
  messages: readonly LlmMessage[];
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  stop?: readonly string[];
  /** JSON mode: `json_object` or `json_schema` (Gemini: responseMimeType / responseSchema). */
  response_format?: LlmResponseFormat;
  seed?: number;
  presence_penalty?: number;
  frequency_penalty?: number;
  /** OpenAI-compatible providers only (Gemini refuses the task with BAD_INPUT naming it). */
  logit_bias?: Readonly<Record<string, number>>;
  /** End-user id for the provider's abuse monitoring (OpenAI-compatible providers; Gemini has none). */
  user?: string;
  /** Functions the model may call, as OpenAI defines them. */
  tools?: readonly LlmTool[];
  tool_choice?: LlmToolChoice;
  parallel_tool_calls?: boolean;
  /** Overrides the configured key for this request only (a user's own key). Never logged. */
  apiKey?: string;
}

/** OpenAI-style finish reasons; providers map theirs onto these where they can. */
export type LlmFinishReason = 'stop' | 'length' | 'content_filter' | 'tool_calls' | (string & {});

export interface LlmDelta {
  type: 'delta';
  text: string;
}

export interface LlmFinish {
  type: 'finish';
  finishReason: LlmFinishReason;
  usage: TaskUsage | undefined;
  /** The model that answered, as the provider names it (may carry a version). */
  model: string;
}

/**
 * A piece of a tool call, as OpenAI streams it: the first piece of call
 * `index` carries `id` and `name`, later ones append to `arguments`.
 */
export interface LlmToolCallDelta {
  type: 'tool_call';
  index: number;
  id?: string;
  name?: string;
  arguments: string;
}

export type LlmStreamEvent = LlmDelta | LlmToolCallDelta | LlmFinish;

export interface LlmCompletion {
  text: string;
  /** The calls the model asked for (finishReason is then `tool_calls`). */
  toolCalls?: LlmToolCall[];
  finishReason: LlmFinishReason;
  usage: TaskUsage | undefined;
  model: string;
}

export interface LlmProvider {
  readonly name: LlmProviderName;
  /** Model names this provider serves (configured or discovered at start). */
  models(): readonly string[];
  /**
   * Streams a completion: zero or more deltas, then exactly one finish event.
   * Aborting `signal` closes the upstream HTTP request and rejects with
   * CANCELLED (or the signal's reason when that is a TaskFailure).
   */
  stream(request: LlmRequest, signal: AbortSignal): AsyncIterable<LlmStreamEvent>;
  /** The same completion, not streamed. */
  complete(request: LlmRequest, signal: AbortSignal): Promise<LlmCompletion>;
}
