/**
 * `taskwire logs` as a user runs it (the built CLI) against a real master and
 * worker: filters, text output oldest first, jsonl, --follow printing a new
 * line, and the exit code of a usage error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, type Logger } from '../../common/logger.js';
import { ProcessGroup } from '../helpers/processes.js';
import { startCluster, uniqueId, waitFor, type TestCluster } from '../helpers/cluster.js';

const group = new ProcessGroup();
let c: TestCluster;
let workerLog: Logger;
let workerId: string;

async function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = group.taskwire(`cli ${args.join(' ')}`, args, { env: { TASKWIRE_URL: c.httpUrl, TASKWIRE_API_KEY: '' } });
  const exit = await p.waitForExit(30_000);
  const of = (s: 'stdout' | 'stderr') => p.lines.filter((l) => l.stream === s).map((l) => l.text).join('\n');
  return { code: exit.code, stdout: of('stdout'), stderr: of('stderr') };
}

beforeAll(async () => {
  c = await startCluster({ masterDeps: { logger: createLogger({ source: 'master', destination: false }) } });
  workerId = uniqueId('clilog');
  const wl = createLogger({ source: workerId, destination: false });
  workerLog = wl.logger;
  await c.addWorker({ workerId }, { logger: wl });
  await c.waitForWorkers(1);
  workerLog.info({ task_id: 'cli-task-1' }, 'first walrus line');
  workerLog.warn({ task_id: 'cli-task-1' }, 'second walrus line');
  await waitFor(async () => (await c.master.logs.store.page({ filter: { taskId: 'cli-task-1' }, limit: 10 })).length === 2, 'two lines kept');
}, 30_000);
afterAll(async () => {
  await group.stopAll();
  await c?.close();
});

describe('taskwire logs', () => {
  it('prints the matching lines oldest first, as text and jsonl', async () => {
    const text = await cli(['logs', '--task', 'cli-task-1']);
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`INFO\\s+${workerId}\\s+task=cli-task-1\\s+first walrus line$`));
    expect(lines[1]).toMatch(/WARN .*second walrus line$/);
    const jsonl = await cli(['logs', '--grep', 'walrus', '--level', 'warn', '-o', 'jsonl']);
    expect(jsonl.code, jsonl.stderr).toBe(0);
    expect(jsonl.stdout.split('\n').map((l) => JSON.parse(l) as { msg: string; worker_id: string })).toEqual([expect.objectContaining({ msg: 'second walrus line', worker_id: workerId })]);
    const byWorker = await cli(['logs', '--worker', workerId, '-o', 'json']);
    expect((JSON.parse(byWorker.stdout) as { logs: unknown[] }).logs.length).toBeGreaterThanOrEqual(2);
  });

  it('--follow prints new lines as they arrive', async () => {
    const p = group.taskwire('logs --follow', ['logs', '--follow', '--grep', 'narwhal', '--limit', '1'], { env: { TASKWIRE_URL: c.httpUrl, TASKWIRE_API_KEY: '' } });
    await new Promise((r) => setTimeout(r, 1500)); // the CLI starting up and connecting
    workerLog.info('a narwhal appears');
    await p.waitForLine(/a narwhal appears/, 15_000);
    await group.stopAll();
  });

  it('a bad level is a usage error (exit 2)', async () => {
    const bad = await cli(['logs', '--level', 'loud']);
    expect(bad.code).toBe(2);
    const since = await cli(['logs', '--since', 'yesterday']);
    expect(since.code).toBe(2);
    expect(since.stderr).toContain('since');
  });
});
