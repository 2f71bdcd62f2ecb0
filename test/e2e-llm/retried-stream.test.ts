/**
 * A provider stream cut off after a few tokens, end to end: the llm task is
 * retried as attempt 2 and its stored result is the clean answer. A client
 * must never see text of two attempts glued together:
 *  - the gateway's streamed reply (official `openai` client) ends with an
 *    OpenAI-style error event after attempt 1's text (as LiteLLM does);
 *  - a non-streamed request retries transparently;
 *  - Socket.IO chunks carry their `attempt` (seq restarts with it), so the
 *    chat can start the answer over.
 */
import OpenAI from 'openai';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientToServerEvents, ServerToClientEvents, TaskChunkEvent } from '../../common/socket-events.js';
import type { TaskView } from '../../common/task-view.js';
import { waitFor } from '../helpers/cluster.js';
import { lastUser, startLlmCluster, taskIdOf, waitForFinal, type LlmCluster } from './llm-cluster.js';

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

describe('a retried llm stream never repeats text', () => {
  let env: LlmCluster;
  let client: OpenAI;
  /** "cut ..." prompts are cut after 3 tokens the first time they are streamed. */
  const cut = new Set<string>();
  const sockets: ClientSocket[] = [];

  beforeAll(async () => {
    env = await startLlmCluster({
      inProcessWorkers: 2,
      processWorkers: 0,
      provider: {
        cutAfter: (messages) => {
          const text = lastUser(messages);
          if (!text.startsWith('cut') || cut.has(text)) return undefined;
          cut.add(text);
          return 3;
        },
      },
    });
    client = new OpenAI({ apiKey: 'unused', baseURL: `${env.httpUrl}/v1`, maxRetries: 0, timeout: 30_000 });
  }, 90_000);

  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await env?.close();
  }, 60_000);

  it('a streamed reply ends with an error event after the first attempt; the task itself succeeds on attempt 2', async () => {
    const prompt = 'cut the quick brown fox jumps over the lazy dog';
    const stream = await client.chat.completions.create({ model: 'taskwire', messages: [{ role: 'user', content: prompt }], stream: true });
    const got: string[] = [];
    let id = '';
    let error: unknown;
    try {
      for await (const c of stream) {
        id = c.id;
        got.push(c.choices[0]?.delta.content ?? '');
      }
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as Error).message).toMatch(/retried \(attempt 2\)/);
    expect(got.join('')).toBe('cut the quick ');
    const task = await waitForFinal(env.httpUrl, taskIdOf(id));
    expect(task.status).toBe('succeeded');
    expect(task.attempt).toBe(2);
    expect((task.result as { text: string }).text).toBe(prompt);
  });

  it('a non-streamed request retries transparently', async () => {
    const prompt = 'cut again, the quick brown fox';
    const res = await client.chat.completions.create({ model: 'taskwire', messages: [{ role: 'user', content: prompt }] });
    // The worker streams from the provider even for a non-streamed client, so it was cut too.
    expect(cut.has(prompt)).toBe(true);
    expect(res.choices[0]!.message.content).toBe(prompt);
  });

  it('Socket.IO chunks carry their attempt; seq restarts with attempt 2', async () => {
    const socket = io(env.httpUrl, { transports: ['websocket'], reconnection: false }) as ClientSocket;
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('session', () => resolve());
      socket.once('connect_error', reject);
    });
    const chunks: TaskChunkEvent[] = [];
    let done: TaskView | undefined;
    socket.on('task:chunk', (c) => chunks.push(c));
    socket.on('task:done', (t) => (done = t));
    const prompt = 'cut over Socket.IO: one two three four five';
    const ack = await socket.emitWithAck('task:submit', { kind: 'llm', input: { messages: [{ role: 'user', content: prompt }] } });
    expect(ack.ok).toBe(true);
    await waitFor(() => done, 'task:done', 20_000);
    expect(done!.status).toBe('succeeded');
    const first = chunks.filter((c) => c.attempt === 1 && c.text !== '');
    const second = chunks.filter((c) => c.attempt === 2 && c.text !== '');
    expect(first.map((c) => c.text).join('')).toBe('cut over Socket.IO: ');
    expect(second.map((c) => c.text).join('')).toBe(prompt);
    expect(second[0]!.seq).toBeLessThanOrEqual(first[0]!.seq);
    expect(chunks.every((c) => c.attempt === 1 || c.attempt === 2)).toBe(true);
  });
});
