/**
 * The usage ledger bills every attempt what its worker reported, on a real
 * master with a real worker over gRPC and real retries: a failed attempt that
 * streamed tokens and reported them, a failed attempt that reported nothing
 * (0, never an earlier attempt's tokens), a lost attempt (0), and the
 * succeeding one.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, waitFor } from '../helpers/cluster.js';
import { TaskFailure, type TaskContext, type TaskHandler, type TaskOutput } from '../../worker/handlers/task-handler.js';
import type { TaskView } from '../../common/task-view.js';
import type { UsageRow } from '../../master/billing/usage-row.js';

type Cluster = Awaited<ReturnType<typeof startCluster>>;

/** `scripted` fails its first attempts as the input says, streaming first; reports usage as the input says. */
class ScriptedHandler implements TaskHandler {
  readonly kind = 'scripted';
  async run(ctx: TaskContext): Promise<TaskOutput> {
    const input = ctx.input as { text: string; script?: ('fail-with-usage' | 'fail' | 'hang')[] };
    const step = input.script?.[ctx.attempt - 1];
    ctx.emit({ text: 'partial ' });
    if (step === 'fail-with-usage') throw new TaskFailure('PROVIDER_ERROR', 'stream broke', { retryable: true, usage: { prompt_tokens: 7, completion_tokens: 11, total_tokens: 18 } });
    if (step === 'fail') throw new TaskFailure('PROVIDER_ERROR', 'no answer', { retryable: true });
    if (step === 'hang') {
      // Runs until the master gives up on the attempt (its run time), then reports nothing usable.
      while (!ctx.signal.aborted) await sleep(50);
      throw ctx.signal.reason;
    }
    return { output: { text: input.text }, usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 } };
  }
}

describe('usage per attempt', () => {
  let c: Cluster;
  const ADMIN = 'attempts-admin-key-0123456789';
  const http = (path: string, body?: unknown, key = ADMIN, method = body === undefined ? 'GET' : 'POST') =>
    fetch(`${c.httpUrl}${path}`, { method, headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: body === undefined ? undefined : JSON.stringify(body) });
  const done = (id: string, key = ADMIN) =>
    waitFor(async () => {
      const v = (await (await http(`/api/v1/tasks/${id}`, undefined, key)).json()) as TaskView;
      return ['succeeded', 'failed', 'cancelled', 'expired'].includes(v.status) && v;
    }, `task ${id} done`, 60_000);

  /** The ledger's rows of one task, by attempt, once there are `n` (the store may answer now or later). */
  const rowsOf = (id: string, n: number) =>
    waitFor(async () => {
      const all: UsageRow[] = (await c.master.billing.store.rows({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER })).filter((x: UsageRow) => x.task_id === id);
      return all.length === n && all.sort((a, b) => a.attempt - b.attempt);
    }, `${n} ledger rows of ${id}`);

  beforeAll(async () => {
    c = await startCluster({ workers: 0, master: { apiKeys: [`admin:${ADMIN}`], retryBaseMs: 50, retryMaxMs: 100 } });
    await c.addWorker({ kinds: ['scripted'] }, { handlers: [new ScriptedHandler()] });
    await c.waitForWorkers(1);
  }, 60_000);
  afterAll(async () => c?.close());

  it("bills each attempt of a retried task what its worker reported: a failed streamed attempt's tokens, 0 for one that reported none", async () => {
    expect((await http('/api/v1/admin/prices', { prices: [{ kind: 'scripted', per_1k_tokens_in: 1, per_1k_tokens_out: 2 }] }, ADMIN, 'PUT')).status).toBe(200);
    const r = await http('/api/v1/tasks', { kind: 'scripted', input: { text: 'third time lucky', script: ['fail-with-usage', 'fail'] }, max_attempts: 3 });
    expect(r.status).toBe(202);
    const { id } = (await r.json()) as { id: string };
    const view = await done(id);
    expect(view.status).toBe('succeeded');
    expect(view.attempt).toBe(3);
    const rows = await rowsOf(id, 3);
    expect(rows.map((x) => [x.attempt, x.outcome, x.tokens_in, x.tokens_out])).toEqual([
      [1, 'retried', 7, 11],
      [2, 'retried', 0, 0],
      [3, 'succeeded', 3, 5],
    ]);
    expect(rows[0]!.cost).toBeCloseTo(7 / 1000 + 22 / 1000, 12);
    expect(rows[1]!.cost).toBe(0);
    // The report's totals are the sum of what the worker reported, attempt by attempt.
    const report = (await (await http('/api/v1/usage?period=day')).json()) as { totals: { tokens_in: number; tokens_out: number } };
    expect(report.totals).toMatchObject({ tokens_in: 10, tokens_out: 16 });
  }, 90_000);

  it('a lost attempt (the master gave up on it) after a billed one has 0 tokens, and the next one its own', async () => {
    // Attempt 2 runs past its run time: the master ends it (and cancels it on the worker) before the worker reports.
    const r = await http('/api/v1/tasks', { kind: 'scripted', input: { text: 'after a loss', script: ['fail-with-usage', 'hang'] }, max_attempts: 3, timeout_ms: 1500 });
    expect(r.status).toBe(202);
    const { id } = (await r.json()) as { id: string };
    const view = await done(id);
    expect(view.status).toBe('succeeded');
    const rows = await rowsOf(id, 3);
    expect(rows.map((x) => [x.attempt, x.outcome, x.tokens_in, x.tokens_out])).toEqual([
      [1, 'retried', 7, 11],
      [2, 'retried', 0, 0],
      [3, 'succeeded', 3, 5],
    ]);
  }, 90_000);
});
