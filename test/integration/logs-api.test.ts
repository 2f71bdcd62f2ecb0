/**
 * Central logs: the master keeps its own log lines and every worker's (from
 * MQTT) and serves them at GET /api/v1/logs with filters, full-text search,
 * cursor pages and a live follow; they survive a master restart on one data
 * dir; secrets in a message are scrubbed; operators only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, type Logger } from '../../common/logger.js';
import { startCluster, uniqueId, waitFor, type TestCluster } from '../helpers/cluster.js';

interface Line {
  id: number;
  ts: string;
  level: string;
  source: string;
  worker_id: string | null;
  task_id: string | null;
  tenant: string | null;
  msg: string;
}

async function logs(c: TestCluster, query: string, headers: Record<string, string> = {}): Promise<{ logs: Line[]; next_cursor: string | null }> {
  const res = await fetch(`${c.httpUrl}/api/v1/logs?${query}`, { headers });
  if (res.status !== 200) throw new Error(`status ${res.status}: ${await res.text()}`);
  return (await res.json()) as { logs: Line[]; next_cursor: string | null };
}

describe('GET /api/v1/logs', () => {
  const cleanup: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  async function cluster(dataDir: string, extra: Record<string, unknown> = {}): Promise<{ c: TestCluster; workerLog: Logger; workerId: string }> {
    const c = await startCluster({
      master: { dataDir, ...extra },
      masterDeps: { logger: createLogger({ source: 'master', destination: false }) },
    });
    cleanup.push(() => c.close());
    const workerId = uniqueId('logw');
    const wl = createLogger({ source: workerId, destination: false });
    await c.addWorker({ workerId }, { logger: wl });
    await c.waitForWorkers(1);
    return { c, workerLog: wl.logger, workerId };
  }

  it('keeps master and worker lines with filters, text search, cursor pages, follow, redaction and a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tw-logs-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const { c, workerLog, workerId } = await cluster(dir);

    // The master's own line about the worker, and the worker's own lines from MQTT.
    await waitFor(async () => (await logs(c, 'source=master&q=online')).logs.some((l) => l.msg.includes(workerId)), 'master line about the worker');
    await waitFor(async () => (await logs(c, `worker=${workerId}`)).logs.length > 0, 'a worker line');

    workerLog.info({ task_id: 'task-abc-1' }, 'starting zebra task with Bearer sk-abcdefghijklmnopqrstuvwxyz012345 and password=hunter2secret');
    workerLog.warn({ task_id: 'task-abc-1' }, 'zebra task slow');
    workerLog.error({ task_id: 'task-other' }, 'giraffe task failed');
    const byTask = await waitFor(async () => {
      const page = await logs(c, 'task=task-abc-1');
      return page.logs.length === 2 ? page : undefined;
    }, 'two lines of task-abc-1');
    expect(byTask.logs.map((l) => l.level)).toEqual(['warn', 'info']); // newest first
    expect(byTask.logs[1]).toMatchObject({ source: workerId, worker_id: workerId, task_id: 'task-abc-1' });
    // No secret survives in a kept line.
    expect(byTask.logs[1]!.msg).not.toContain('hunter2secret');
    expect(byTask.logs[1]!.msg).not.toContain('abcdefghijklmnopqrstuvwxyz012345');
    expect(byTask.logs[1]!.msg).toContain('[redacted]');

    // Full-text search, level filter, both combined.
    expect((await logs(c, 'q=zebra')).logs.map((l) => l.msg)).toEqual([expect.stringContaining('slow'), expect.stringContaining('starting zebra')]);
    expect((await logs(c, 'q=zebra+slow')).logs).toHaveLength(1);
    expect((await logs(c, 'level=error&q=task')).logs.map((l) => l.task_id)).toEqual(['task-other']);
    expect((await logs(c, `level=warn&worker=${workerId}`)).logs.map((l) => l.level).sort()).toEqual(['error', 'warn']);
    expect((await logs(c, 'q=nosuchwordanywhere')).logs).toEqual([]);

    // Cursor pages: disjoint, newest first, ending with null.
    const seen: number[] = [];
    let cursor: string | null = '';
    for (let i = 0; i < 100 && cursor !== null; i++) {
      const page = await logs(c, `worker=${workerId}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.logs.map((l) => l.id));
      cursor = page.next_cursor;
    }
    expect(seen.length).toBeGreaterThanOrEqual(4);
    expect([...seen].sort((a, b) => b - a)).toEqual(seen);
    expect(new Set(seen).size).toBe(seen.length);

    // Time range: nothing before the epoch's first second, everything until far ahead.
    expect((await logs(c, 'until=1000')).logs).toEqual([]);
    expect((await logs(c, `since=${new Date(Date.now() - 60_000).toISOString()}&task=task-abc-1`)).logs).toHaveLength(2);

    // Follow: a new line arrives live over SSE.
    const ac = new AbortController();
    const res = await fetch(`${c.httpUrl}/api/v1/logs?follow=true&q=okapi`, { signal: ac.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    const got = (async () => {
      while (!text.includes('okapi arrived')) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
    })();
    await new Promise((r) => setTimeout(r, 100));
    workerLog.info('okapi arrived');
    await got;
    ac.abort();
    expect(text).toMatch(/id: \d+\nevent: log\ndata: .*okapi arrived/);

    // Bad input: 400 naming the parameter.
    const bad = await fetch(`${c.httpUrl}/api/v1/logs?level=loud`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { field: string } }).error.field).toBe('level');
    const badCursor = await fetch(`${c.httpUrl}/api/v1/logs?cursor=bm9wZQ`);
    expect(badCursor.status).toBe(400);

    // A restart on the same data dir keeps the lines.
    await c.close();
    cleanup.pop();
    const again = await startCluster({ master: { dataDir: dir }, masterDeps: { logger: createLogger({ source: 'master', destination: false }) } });
    cleanup.push(() => again.close());
    expect((await logs(again, 'task=task-abc-1')).logs).toHaveLength(2);
  });

  it('needs a key when keys are configured; the cluster lines are an operator\'s, a user key reads only its own tasks\' lines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tw-logs-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const c = await startCluster({
      master: { dataDir: dir, apiKeys: ['user:user-key-123456', 'operator:op-key-1234567'] },
      masterDeps: { logger: createLogger({ source: 'master', destination: false }) },
    });
    cleanup.push(() => c.close());
    expect((await fetch(`${c.httpUrl}/api/v1/logs`)).status).toBe(401);
    const op = { authorization: 'Bearer op-key-1234567' };
    const user = { authorization: 'Bearer user-key-123456' };
    await waitFor(async () => (await logs(c, 'source=master', op)).logs.length > 0, "the master's own lines");
    // The master's lines are cluster lines (tenant null): not a user key's.
    expect((await logs(c, 'source=master', user)).logs).toEqual([]);
    expect((await logs(c, 'limit=1000', user)).logs).toEqual([]);
    expect((await logs(c, 'source=master', op)).logs.every((l) => l.tenant === null)).toBe(true);
  });
});
