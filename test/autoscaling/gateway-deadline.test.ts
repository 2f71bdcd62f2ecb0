/**
 * Deadlines on the OpenAI-compatible gateway (X-Taskwire-Deadline-Ms) and in
 * the batch submit's schema (deadline_ms / deadline_at per item), on a real
 * master with a real capacity-1 worker whose `llm` handler is a local
 * stand-in (no provider).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { TaskHandler } from '../../worker/handlers/task-handler.js';
import { startCluster, waitFor, type TestCluster } from '../helpers/cluster.js';

const RUN_MS = 400;
const llm: TaskHandler = {
  kind: 'llm',
  models: () => [{ kind: 'llm', name: 'm1', ready: true, provider: 'test' }],
  run: async () => {
    await new Promise((r) => setTimeout(r, RUN_MS));
    return { output: { text: 'ok' }, usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } };
  },
};

let c: TestCluster | undefined;
afterEach(async () => {
  await c?.close();
  c = undefined;
});

function chat(headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${c!.httpUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'm1', messages: [{ role: 'user', content: 'hi' }] }),
  });
}

describe('deadlines on the gateway and in batches', () => {
  it('the gateway refuses a chat that cannot start in time (429 deadline_unreachable, Retry-After), takes one with slack, and names a bad header', async () => {
    c = await startCluster({ workers: 0 });
    await c.addWorker({ capacity: 1, kinds: ['llm', 'sleep'] }, { handlers: [llm] });
    await c.waitForWorkers(1);
    await waitFor(() => c!.master.registry.schedulable()[0]?.status.models.length, 'the llm model advertised');
    for (let i = 0; i < 2; i++) expect((await chat()).status).toBe(200); // warm the wait estimate

    const bad = await chat({ 'x-taskwire-deadline-ms': 'soon' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error).toMatchObject({ param: 'x-taskwire-deadline-ms', type: 'invalid_request_error' });

    // Four queued behind one running on the one slot: ~2 s of wait.
    const busy = Array.from({ length: 4 }, () => chat());
    await waitFor(() => c!.master.tasks.queue.size >= 3, 'a queue');
    const late = await chat({ 'x-taskwire-deadline-ms': '100' });
    expect(late.status).toBe(429);
    expect(Number(late.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const body = (await late.json()) as any;
    expect(body.error).toMatchObject({ code: 'deadline_unreachable', type: 'rate_limit_error' });
    expect(body.error.message).toMatch(/estimated wait \d+ ms > deadline 100 ms/);
    const slack = await chat({ 'x-taskwire-deadline-ms': '60000' });
    expect(slack.status).toBe(200);
    for (const r of await Promise.all(busy)) expect(r.status).toBe(200);
  });

  it('/v1/embeddings reads the same header: a bad one is a 400 naming it, before anything is queued', async () => {
    c = await startCluster({ workers: 0 });
    const r = await fetch(`${c.httpUrl}/v1/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-taskwire-deadline-ms': '-5' },
      body: JSON.stringify({ model: 'any', input: 'hello' }),
    });
    expect(r.status).toBe(400);
    expect(((await r.json()) as any).error).toMatchObject({ param: 'x-taskwire-deadline-ms', type: 'invalid_request_error' });
    expect(c.master.tasks.queue.size).toBe(0);
  });

  it('a batch item with a deadline the queue cannot meet refuses the whole batch naming the item; deadline_at is accepted per item', async () => {
    c = await startCluster({ workers: 1, workerCapacity: 1 });
    const post = (tasks: unknown[]) => fetch(`${c!.httpUrl}/api/v1/tasks/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tasks }) });
    const warm = await post([{ kind: 'sleep', input: { ms: RUN_MS } }, { kind: 'sleep', input: { ms: RUN_MS } }]);
    expect(warm.status).toBe(202);
    await waitFor(() => c!.master.tasks.queue.size === 0 && c!.master.tasks.runningCount() === 0, 'the warm-up done', 10_000);
    const r = await post([...Array.from({ length: 4 }, () => ({ kind: 'sleep', input: { ms: RUN_MS } })), { kind: 'sleep', input: { ms: RUN_MS }, deadline_ms: 100 }]);
    expect(r.status).toBe(429);
    const e = ((await r.json()) as any).error;
    expect(e.code).toBe('DEADLINE_UNREACHABLE');
    expect(e.message).toMatch(/tasks\.4/);
    expect(c.master.tasks.queue.size).toBe(0); // all or nothing
    const ok = await post([{ kind: 'sleep', input: { ms: 10 }, deadline_at: new Date(Date.now() + 60_000).toISOString() }]);
    expect(ok.status).toBe(202);
    const bad = await post([{ kind: 'sleep', input: { ms: 10 }, deadline_at: 'tomorrow' }]);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.field).toBe('tasks.0.deadline_at');
  });
});
