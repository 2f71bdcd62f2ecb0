/**
 * Embedding adapters: one interface, two wire formats.
 *   OpenAI-compatible (OpenAI, vLLM, llama.cpp, Ollama /v1):
 *     POST {base}/embeddings {model, input: [...], encoding_format: "float", dimensions?, user?}
 *     -> {data: [{index, embedding: [..]}], model, usage: {prompt_tokens, total_tokens}}
 *   Gemini:
 *     POST {base}/v1beta/models/{model}:batchEmbedContents
 *     {requests: [{model: "models/{model}", content: {parts: [{text}]}, outputDimensionality?}]}
 *     -> {embeddings: [{values: [..]}]}
 * Errors are TaskFailure with the provider codes of provider-errors.ts.
 */
import { z } from 'zod';
import { TaskFailure, type TaskUsage } from '../task-handler.js';
import type { LlmProviderName } from './llm-provider.js';
import { jsonPost, providerFetch, readJson, type FetchFn, type ProviderCall } from './provider-fetch.js';

export interface EmbedRequest {
  model: string;
  input: readonly string[];
  dimensions?: number;
  user?: string;
  /** A user's own key for this request only. Never logged. */
  apiKey?: string;
}

export interface EmbedResult {
  embeddings: number[][];
  usage: TaskUsage | undefined;
  model: string;
}

export interface EmbeddingProvider {
  readonly name: LlmProviderName;
  models(): readonly string[];
  embed(request: EmbedRequest, signal: AbortSignal): Promise<EmbedResult>;
}

export interface EmbeddingProviderOptions {
  baseUrl: string;
  apiKey?: string | undefined;
  models: readonly string[];
  fetch?: FetchFn;
}

const openAiAnswer = z
  .object({
    data: z.array(z.object({ index: z.number().int().nonnegative().optional(), embedding: z.array(z.number()) }).passthrough()),
    model: z.string().optional(),
    usage: z.object({ prompt_tokens: z.number().int().nonnegative(), total_tokens: z.number().int().nonnegative().optional() }).passthrough().nullish(),
  })
  .passthrough();

const geminiAnswer = z.object({ embeddings: z.array(z.object({ values: z.array(z.number()) }).passthrough()) }).passthrough();

function checkCount(provider: string, got: number, want: number): void {
  if (got !== want) throw new TaskFailure('PROVIDER_ERROR', `${provider}: ${got} embeddings for ${want} texts`);
}

export class OpenAiEmbeddings implements EmbeddingProvider {
  private readonly baseUrl: string;
  constructor(
    readonly name: Extract<LlmProviderName, 'openai' | 'ollama'>,
    private readonly options: EmbeddingProviderOptions,
  ) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
  }

  models(): readonly string[] {
    return this.options.models;
  }

  async embed(request: EmbedRequest, signal: AbortSignal): Promise<EmbedResult> {
    const secret = request.apiKey ?? this.options.apiKey;
    const call: ProviderCall = { provider: this.name, fetch: this.options.fetch ?? fetch, secret };
    const body: Record<string, unknown> = { model: request.model, input: [...request.input], encoding_format: 'float' };
    if (request.dimensions !== undefined) body['dimensions'] = request.dimensions;
    if (request.user !== undefined) body['user'] = request.user;
    const res = await providerFetch(call, `${this.baseUrl}/embeddings`, jsonPost(body, secret ? { authorization: `Bearer ${secret}` } : {}), signal);
    const parsed = openAiAnswer.safeParse(await readJson(call, res, signal));
    if (!parsed.success) throw new TaskFailure('PROVIDER_ERROR', `${this.name}: unexpected embeddings answer`);
    const data = [...parsed.data.data].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    checkCount(this.name, data.length, request.input.length);
    const u = parsed.data.usage;
    return {
      embeddings: data.map((d) => d.embedding),
      usage: u ? { prompt_tokens: u.prompt_tokens, completion_tokens: 0, total_tokens: u.total_tokens ?? u.prompt_tokens } : undefined,
      model: parsed.data.model ?? request.model,
    };
  }
}

export class GeminiEmbeddings implements EmbeddingProvider {
  readonly name = 'gemini' as const;
  private readonly baseUrl: string;
  constructor(private readonly options: EmbeddingProviderOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
  }

  models(): readonly string[] {
    return this.options.models;
  }

  async embed(request: EmbedRequest, signal: AbortSignal): Promise<EmbedResult> {
    const secret = request.apiKey ?? this.options.apiKey;
    const call: ProviderCall = { provider: 'gemini', fetch: this.options.fetch ?? fetch, secret };
    const id = request.model.startsWith('models/') ? request.model.slice('models/'.length) : request.model;
    const requests = request.input.map((text) => ({
      model: `models/${id}`,
      content: { parts: [{ text }] },
      ...(request.dimensions !== undefined && { outputDimensionality: request.dimensions }),
    }));
    const url = `${this.baseUrl}/v1beta/models/${encodeURIComponent(id)}:batchEmbedContents`;
    const res = await providerFetch(call, url, jsonPost({ requests }, { 'x-goog-api-key': secret ?? '' }), signal);
    const parsed = geminiAnswer.safeParse(await readJson(call, res, signal));
    if (!parsed.success) throw new TaskFailure('PROVIDER_ERROR', 'gemini: unexpected batchEmbedContents answer');
    checkCount('gemini', parsed.data.embeddings.length, request.input.length);
    // Gemini reports no token counts for embeddings.
    return { embeddings: parsed.data.embeddings.map((e) => e.values), usage: undefined, model: request.model };
  }
}
