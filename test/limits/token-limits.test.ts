/**
 * Tokens and concurrency: an llm task reserves its prompt estimate +
 * max_tokens at submit and the reservation becomes the usage the worker
 * reported when it ends (real master, real llm worker, local
 * OpenAI-compatible provider, streamed); concurrent_tasks counts unfinished
 * tasks and gives the slot back when one ends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLlmCluster, type LlmCluster } from '../e2e-llm/llm-cluster.js';
import { waitFor } from '../helpers/cluster.js';

describe('token and concurrency limits', () => {
  let env: LlmCluster;
  const post = (path: string, body: unknown) => fetch(`${env.httpUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  beforeAll(async () => {
    env = await startLlmCluster({
      processWorkers: 0,
      master: { rateLimits: JSON.stringify({ rules: [{ scope: 'tenant', tokens_per_minute: 1000, window_s: 600 }, { scope: 'key', model: 'nope-model', concurrent_tasks: 1 }] }) },
    });
  }, 60_000);
  afterAll(async () => env?.close());

  const tokensUsed = async () => {
    const r = await env.cluster.master.limits['o'].store.limiter(1000, 600).get('tenant:default|*|tpm');
    return r?.consumedPoints ?? 0;
  };

  it('reserves prompt + max_tokens, then keeps exactly what the worker reported', async () => {
    const model = 'fake-model';
    const content = 'one two three four five six seven eight'; // 39 chars -> 10 tokens estimated
    const r = await post('/v1/chat/completions', { model, stream: true, max_tokens: 500, messages: [{ role: 'user', content }] });
    expect(r.status).toBe(200);
    await r.text();
    const tasks = (await (await fetch(`${env.httpUrl}/api/v1/tasks?limit=5`)).json()) as { tasks: { id: string }[] } | { id: string }[];
    const list = Array.isArray(tasks) ? tasks : tasks.tasks;
    const task = (await (await fetch(`${env.httpUrl}/api/v1/tasks/${list[0]!.id}`)).json()) as { usage: { total_tokens: number } };
    expect(task.usage.total_tokens).toBeGreaterThan(0);
    await waitFor(async () => (await tokensUsed()) === task.usage.total_tokens, 'the reservation corrected to the usage');
    // a request whose reservation passes what is left is refused
    const big = await post('/v1/chat/completions', { model, max_tokens: 990, messages: [{ role: 'user', content }] });
    expect(big.status).toBe(429);
    expect(big.headers.get('ratelimit-policy')).toBe('"tenant-tpm";q=1000;w=600');
    expect(((await big.json()) as { error: { code: string } }).error.code).toBe('rate_limit_exceeded');
    expect(await tokensUsed()).toBe(task.usage.total_tokens); // refused work holds nothing
  });

  it('concurrent_tasks per model: one unfinished task, the slot back when it ends', async () => {
    const submit = () => post('/api/v1/tasks', { kind: 'llm', input: { model: 'nope-model', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 } });
    const first = await submit();
    expect(first.status).toBe(202); // queued: no worker serves the model
    const refused = await submit();
    expect(refused.status).toBe(429);
    expect(refused.headers.get('ratelimit-policy')).toBe('"key-concurrent-nope-model";q=1');
    const { id } = (await first.json()) as { id: string };
    expect((await post(`/api/v1/tasks/${id}/cancel`, {})).status).toBeLessThan(300);
    await waitFor(async () => (await submit()).status === 202, 'slot back after cancel');
  });
});
