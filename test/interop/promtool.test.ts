/**
 * The master's whole /metrics output, after real work (tasks of several kinds
 * and outcomes, a worker online), passes `promtool check metrics` (Debian
 * package `prometheus`, installed by .ci/run). Outside CI a missing promtool
 * is reported as a skip; in CI it fails.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTask, startCluster, type TestCluster } from '../helpers/cluster.js';

const promtool = (() => {
  const r = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
})();

describe('promtool check metrics', () => {
  let c: TestCluster;
  beforeAll(async () => {
    c = await startCluster({ workers: 1 });
  });
  afterAll(() => c?.close());

  it.runIf(!promtool && !process.env.CI)('cannot run here: promtool is not installed (apt-get install prometheus; CI installs it)', () => {
    console.warn('SKIPPED promtool check metrics: no `promtool` on PATH (Debian package `prometheus`)');
  });

  it.skipIf(!promtool && !process.env.CI)('accepts the full /metrics output of a master that has run tasks', async () => {
    expect(promtool, 'promtool is on PATH (Debian package prometheus)').toBeDefined();
    await runTask(c.httpUrl, { kind: 'echo', input: { text: 'hello' } });
    await runTask(c.httpUrl, { kind: 'sleep', input: { ms: 5 } });
    await fetch(`${c.httpUrl}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"kind":"nope"}' });
    const res = await fetch(`${c.httpUrl}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('taskwire_tasks_submitted_total');
    expect(text).toContain('taskwire_master_nodejs_active_handles');
    const r = spawnSync(promtool!, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
    expect(r.status).toBe(0);
  });
});
