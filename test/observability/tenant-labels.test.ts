/**
 * Per-tenant labels on the master's task metrics (MasterMetrics with
 * `tenantLabel`): an observer on a real master's task event stream (two real
 * workers) counts tasks of two tenants apart on the task counters and
 * histograms, keeps every other family as it was, bounds the tenant label
 * (MAX_TENANT_LABELS names, then `other`), and its output passes
 * `promtool check metrics`. Without the option nothing has a tenant label.
 * The observer also pauses and resumes (the overhead bench's A/B).
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, waitFor, type TestCluster } from '../helpers/cluster.js';
import { MAX_TENANT_LABELS, MasterMetrics } from '../../master/observability/metrics.js';
import { MetricObserver } from '../../master/observability/metric-observer.js';
import type { JsonValue } from '../../common/json-value.js';
import { masterOptionsFromEnv } from '../../master/master-options-from-env.js';

const promtool = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).stdout.trim() || undefined;

function series(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const i = line.lastIndexOf(' ');
    if (Object.entries(labels).every(([k, v]) => line.slice(0, i).includes(`${k}="${v}"`))) sum += Number(line.slice(i + 1));
  }
  return sum;
}

describe('per-tenant labels on the master\'s task metrics', () => {
  let c: TestCluster;
  let labelled: MasterMetrics;
  let plain: MasterMetrics;
  const observers: MetricObserver[] = [];

  const run = async (tenant: string, kind: 'echo' | 'sleep', input: unknown, timeoutMs?: number) => {
    const { task } = c.master.tasks.admit({ kind, input: input as JsonValue, tenant, maxAttempts: 1, ...(timeoutMs ? { timeoutMs } : {}) });
    return waitFor(
      () => {
        const t = c.master.tasks.get(task.id);
        return t && ['succeeded', 'failed', 'expired'].includes(t.status) ? t : undefined;
      },
      `task of ${tenant}`,
      15_000,
    );
  };

  beforeAll(async () => {
    c = await startCluster({ workers: 2 });
    labelled = new MasterMetrics({ tenantLabel: true });
    plain = new MasterMetrics();
    for (const metrics of [labelled, plain]) {
      observers.push(
        new MetricObserver({
          metrics,
          events: c.master.tasks.events,
          rejections: c.master.tasks.rejections,
          registry: c.master.registry,
          queued: () => c.master.tasks.queue.size,
          running: () => c.master.tasks.runningCount(),
        }),
      );
    }
    for (let i = 0; i < 3; i++) expect((await run('acme', 'echo', { text: `a${i}` })).status).toBe('succeeded');
    expect((await run('globex', 'echo', { text: 'g' })).status).toBe('succeeded');
    // Past its run timeout on its only attempt: a dead letter of globex (expired, or failed when the worker's abort wins).
    expect(['expired', 'failed']).toContain((await run('globex', 'sleep', { ms: 5000 }, 300)).status);
  }, 60_000);

  afterAll(async () => {
    for (const o of observers) o.stop();
    await c?.close();
  });

  it('counts each tenant\'s tasks apart on the task counters and histograms', async () => {
    const text = await labelled.registry.metrics();
    expect(series(text, 'taskwire_tasks_submitted_total', { kind: 'echo', tenant: 'acme' })).toBe(3);
    expect(series(text, 'taskwire_tasks_submitted_total', { kind: 'echo', tenant: 'globex' })).toBe(1);
    expect(series(text, 'taskwire_tasks_submitted_total', { kind: 'sleep', tenant: 'globex' })).toBe(1);
    expect(series(text, 'taskwire_tasks_submitted_total', { tenant: 'acme', kind: 'sleep' })).toBe(0);
    expect(series(text, 'taskwire_tasks_finished_total', { kind: 'echo', status: 'succeeded', tenant: 'acme' })).toBe(3);
    expect(series(text, 'taskwire_tasks_finished_total', { kind: 'echo', status: 'succeeded', tenant: 'globex' })).toBe(1);
    expect(series(text, 'taskwire_task_dead_letters_total', { kind: 'sleep', tenant: 'globex' })).toBe(1);
    expect(series(text, 'taskwire_task_run_seconds_count', { kind: 'echo', tenant: 'acme' })).toBe(3);
    expect(series(text, 'taskwire_task_queue_wait_seconds_count', { kind: 'echo', tenant: 'globex' })).toBe(1);
    expect(series(text, 'taskwire_task_dispatch_seconds_count', { kind: 'echo', tenant: 'acme' })).toBe(3);
    // Families that are not per task keep their labels.
    expect(text).not.toMatch(/^taskwire_results_rejected_total\{[^}]*tenant=/m);
    expect(text).not.toMatch(/^taskwire_llm_prompt_tokens_total\{[^}]*tenant=/m);
    if (promtool) {
      const r = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(r.stdout + r.stderr).toBe('');
    }
  });

  it('has no tenant label without the option (the default)', async () => {
    const text = await plain.registry.metrics();
    expect(series(text, 'taskwire_tasks_submitted_total', { kind: 'echo' })).toBe(4);
    expect(text).not.toMatch(/tenant=/);
  });

  it('counts nothing while paused and again once resumed (the overhead bench\'s A/B on one master)', async () => {
    const submitted = async () => series(await plain.registry.metrics(), 'taskwire_tasks_submitted_total', { kind: 'echo' });
    const before = await submitted();
    observers[1]!.pause();
    expect((await run('acme', 'echo', { text: 'unseen' })).status).toBe('succeeded');
    expect(await submitted()).toBe(before);
    observers[1]!.resume();
    observers[1]!.resume(); // idempotent: still one listener
    expect((await run('acme', 'echo', { text: 'seen' })).status).toBe('succeeded');
    expect(await submitted()).toBe(before + 1);
  });

  it('bounds the tenant label: the first MAX_TENANT_LABELS tenants by name, then other', () => {
    const m = new MasterMetrics({ tenantLabel: true });
    for (let i = 0; i < MAX_TENANT_LABELS; i++) expect(m.tenant(`t${i}`)).toBe(`t${i}`);
    expect(m.tenant('one-too-many')).toBe('other');
    expect(m.tenant('t0')).toBe('t0');
  });
});

describe('TASKWIRE_METRICS_TENANT_LABELS on a real master', () => {
  let c: TestCluster;

  beforeAll(async () => {
    c = await startCluster({ workers: 1, master: { metricsTenantLabels: 'on' } });
  }, 30_000);

  afterAll(async () => {
    await c?.close();
  });

  it('labels the master\'s own /metrics by tenant', async () => {
    const { task } = c.master.tasks.admit({ kind: 'echo', input: { text: 'x' }, tenant: 'initech' });
    await waitFor(() => c.master.tasks.get(task.id)?.status === 'succeeded', 'the task', 15_000);
    const text = await (await fetch(`${c.httpUrl}/metrics`)).text();
    expect(series(text, 'taskwire_tasks_finished_total', { kind: 'echo', status: 'succeeded', tenant: 'initech' })).toBe(1);
    expect(series(text, 'taskwire_task_run_seconds_count', { kind: 'echo', tenant: 'initech' })).toBe(1);
  });

  it('reads the variable: on, off, and a clear error naming it otherwise', async () => {
    expect((await masterOptionsFromEnv({ TASKWIRE_METRICS_TENANT_LABELS: 'on' })).metricsTenantLabels).toBe('on');
    expect((await masterOptionsFromEnv({})).metricsTenantLabels).toBeUndefined();
    await expect(masterOptionsFromEnv({ TASKWIRE_METRICS_TENANT_LABELS: 'yes please' })).rejects.toThrow(/TASKWIRE_METRICS_TENANT_LABELS/);
  });
});
