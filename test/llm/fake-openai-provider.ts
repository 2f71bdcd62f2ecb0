/**
 * A local OpenAI-compatible provider for end-to-end tests and benchmarks
 * (workers point OPENAI_BASE_URL at `url`): GET /v1/models and
 * POST /v1/chat/completions, streamed (usage on a separate chunk, then
 * [DONE]) and not. By default it answers with the last user message, one word
 * per chunk; `tokenDelayMs` paces a long answer so a test can stop it, and
 * `fail` answers chosen requests with an HTTP error (429, 401, ...) as the
 * OpenAI API sends it.
 */
import type { ServerResponse } from 'node:http';
import { startFakeServer, writeJson, type FakeHttpServer, type RecordedRequest } from './fake-http-server.js';

export type { RecordedRequest } from './fake-http-server.js';

export interface FakeOpenAiProviderOptions {
  models?: string[];
  /** When set, requests need `Authorization: Bearer <apiKey>` (else 401). */
  apiKey?: string;
  /** The answer's tokens; default: the last user message split into words. */
  answer?: (messages: { role: string; content: string }[]) => string[];
  /** Pause before each token (0: none); a function decides per request. */
  tokenDelayMs?: number | ((messages: { role: string; content: string }[]) => number);
  /**
   * Called for every chat request before it is answered: return an HTTP
   * status and OpenAI-style error object to fail it, or undefined to answer.
   */
  fail?: (request: RecordedRequest, messages: { role: string; content: string }[]) => FakeFailure | undefined;
  /**
   * Called for every streamed chat request: a number N cuts the connection
   * after N content tokens (no finish chunk, no [DONE]), as a provider that
   * dies mid-answer does; undefined streams the whole answer.
   */
  cutAfter?: (messages: { role: string; content: string }[]) => number | undefined;
  /**
   * Called for every chat request: calls to answer with instead of text, as
   * OpenAI sends them (`message.tool_calls`, finish_reason `tool_calls`;
   * streamed: a first piece with id, type and name, then the arguments in
   * pieces of `argumentPiece` characters), or undefined to answer with text.
   */
  toolCalls?: (body: Record<string, unknown>) => { name: string; arguments: string }[] | undefined;
  /** Characters of arguments per streamed piece (default 4). */
  argumentPiece?: number;
}

export interface FakeFailure {
  status: number;
  error: { message: string; type?: string; code?: string | null };
}

export interface FakeOpenAiProvider {
  /** Base URL including /v1, for OPENAI_BASE_URL. */
  url: string;
  requests: RecordedRequest[];
  /** Resolves when a client closed a request before the answer ended. */
  clientAborted(): Promise<void>;
  /** Requests closed by their client before the answer ended, so far. */
  abortedCount(): number;
  /** The POST /v1/embeddings requests received, in order. */
  embeddingRequests(): RecordedRequest[];
  /** The POST /v1/chat/completions requests received, in order. */
  chatRequests(): RecordedRequest[];
  close(): Promise<void>;
}

interface ChatBody {
  model?: unknown;
  stream?: unknown;
  messages?: unknown;
}

function messagesOf(body: ChatBody): { role: string; content: string }[] {
  if (!Array.isArray(body.messages)) return [];
  return body.messages.flatMap((m: unknown) => {
    if (typeof m !== 'object' || m === null) return [];
    const { role, content } = m as { role?: unknown; content?: unknown };
    return typeof role === 'string' && typeof content === 'string' ? [{ role, content }] : [];
  });
}

function defaultAnswer(messages: { role: string; content: string }[]): string[] {
  const last = [...messages].reverse().find((m) => m.role === 'user')?.content ?? '';
  return last.split(/(?<=\s)/).filter((t) => t !== '');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startFakeOpenAiProvider(options: FakeOpenAiProviderOptions = {}): Promise<FakeOpenAiProvider> {
  const models = options.models ?? ['fake-model'];
  const answer = options.answer ?? defaultAnswer;
  const delayOf = (messages: { role: string; content: string }[]): number => {
    const d = options.tokenDelayMs ?? 0;
    return typeof d === 'function' ? d(messages) : d;
  };

  const stream = async (res: ServerResponse, model: string, tokens: string[], promptTokens: number, delay: number, cutAfter?: number) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.socket?.setNoDelay(true);
    const base = { id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model };
    const send = (o: unknown) => res.write(`data: ${JSON.stringify(o)}\n\n`);
    send({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
    for (const [i, t] of tokens.entries()) {
      if (delay > 0) await sleep(delay);
      if (res.destroyed) return;
      if (cutAfter !== undefined && i >= cutAfter) {
        // Let the tokens sent so far reach the client, then drop the connection.
        await new Promise<void>((resolve) => res.write('', () => resolve()));
        await sleep(50);
        res.socket?.destroy();
        return;
      }
      send({ ...base, choices: [{ index: 0, delta: { content: t }, finish_reason: null }] });
    }
    send({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
    send({ ...base, choices: [], usage: { prompt_tokens: promptTokens, completion_tokens: tokens.length, total_tokens: promptTokens + tokens.length } });
    res.end('data: [DONE]\n\n');
  };

  const streamCalls = (res: ServerResponse, model: string, calls: { name: string; arguments: string }[]) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const base = { id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model };
    const send = (delta: unknown, finish: string | null = null) =>
      res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`);
    send({ role: 'assistant', content: null });
    const piece = options.argumentPiece ?? 4;
    for (const [index, c] of calls.entries()) {
      send({ tool_calls: [{ index, id: `call_fake_${index}`, type: 'function', function: { name: c.name, arguments: '' } }] });
      for (let i = 0; i < c.arguments.length; i += piece) send({ tool_calls: [{ index, function: { arguments: c.arguments.slice(i, i + piece) } }] });
    }
    send({}, 'tool_calls');
    res.write(`data: ${JSON.stringify({ ...base, choices: [], usage: { prompt_tokens: 1, completion_tokens: calls.length, total_tokens: 1 + calls.length } })}\n\n`);
    res.end('data: [DONE]\n\n');
  };

  /** POST /v1/embeddings: text i of length L gets [L, i, 0.5, ...] (`dimensions` long, default 3). */
  const embeddings = (res: ServerResponse, body: Record<string, unknown>) => {
    const model = typeof body['model'] === 'string' ? body['model'] : '';
    if (!models.includes(model)) return writeJson(res, 404, { error: { message: `The model ${model} does not exist`, code: 'model_not_found' } });
    const input = Array.isArray(body['input']) ? (body['input'] as string[]) : [String(body['input'])];
    const dims = typeof body['dimensions'] === 'number' ? body['dimensions'] : 3;
    // Answered out of order, as the documented `index` allows.
    const data = input.map((t, i) => ({ object: 'embedding', index: i, embedding: Array.from({ length: dims }, (_, d) => (d === 0 ? t.length : d === 1 ? i : 0.5)) })).reverse();
    const tokens = input.reduce((n, t) => n + t.split(/\s+/).filter(Boolean).length, 0);
    writeJson(res, 200, { object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } });
  };

  const server: FakeHttpServer = await startFakeServer(async (req, res) => {
    if (options.apiKey !== undefined && req.headers['authorization'] !== `Bearer ${options.apiKey}`) {
      return writeJson(res, 401, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } });
    }
    if (req.method === 'GET' && req.path === '/v1/models') {
      return writeJson(res, 200, { object: 'list', data: models.map((id) => ({ id, object: 'model', created: 0, owned_by: 'fake' })) });
    }
    if (req.method === 'POST' && req.path === '/v1/embeddings') return embeddings(res, (req.body ?? {}) as Record<string, unknown>);
    if (req.method !== 'POST' || req.path !== '/v1/chat/completions') return writeJson(res, 404, { error: { message: 'no route' } });
    const body = (req.body ?? {}) as ChatBody;
    const model = typeof body.model === 'string' ? body.model : '';
    if (!models.includes(model)) {
      return writeJson(res, 404, { error: { message: `The model ${model} does not exist`, code: 'model_not_found' } });
    }
    const messages = messagesOf(body);
    const failure = options.fail?.(req, messages);
    if (failure) return writeJson(res, failure.status, { error: { type: null, code: null, param: null, ...failure.error } });
    const calls = options.toolCalls?.(body as Record<string, unknown>);
    if (calls) {
      if (body.stream === true) return streamCalls(res, model, calls);
      return writeJson(res, 200, {
        id: 'chatcmpl-fake',
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: null, tool_calls: calls.map((c, i) => ({ id: `call_fake_${i}`, type: 'function', function: c })) },
            logprobs: null,
            finish_reason: 'tool_calls',
          },
        ],
        usage: { prompt_tokens: 1, completion_tokens: calls.length, total_tokens: 1 + calls.length },
      });
    }
    const delay = delayOf(messages);
    const tokens = answer(messages);
    const promptTokens = messages.reduce((n, m) => n + m.content.split(/\s+/).filter(Boolean).length, 0);
    if (body.stream === true) return stream(res, model, tokens, promptTokens, delay, options.cutAfter?.(messages));
    if (delay > 0) await sleep(delay * tokens.length);
    writeJson(res, 200, {
      id: 'chatcmpl-fake',
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model,
      choices: [{ index: 0, message: { role: 'assistant', content: tokens.join('') }, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: promptTokens, completion_tokens: tokens.length, total_tokens: promptTokens + tokens.length },
    });
  });

  return {
    url: `${server.url}/v1`,
    requests: server.requests,
    clientAborted: () => server.clientAborted(),
    abortedCount: () => server.abortedCount(),
    chatRequests: () => server.requests.filter((r) => r.method === 'POST' && r.path === '/v1/chat/completions'),
    embeddingRequests: () => server.requests.filter((r) => r.method === 'POST' && r.path === '/v1/embeddings'),
    close: () => server.close(),
  };
}
