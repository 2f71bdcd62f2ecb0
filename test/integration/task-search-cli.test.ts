/** `taskwire tasks list|search` and `taskwire tasks export` (the built CLI) against a real master and worker. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessGroup } from '../helpers/processes.js';
import { runTask, startCluster, waitFor, type TestCluster } from '../helpers/cluster.js';

const group = new ProcessGroup();
let c: TestCluster;
let dir: string;
const pelicans: string[] = [];

async function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = group.taskwire(`cli ${args.join(' ')}`, args, { env: { TASKWIRE_URL: c.httpUrl, TASKWIRE_API_KEY: '' } });
  const exit = await p.waitForExit(30_000);
  const of = (s: 'stdout' | 'stderr') => p.lines.filter((l) => l.stream === s).map((l) => l.text).join('\n');
  return { code: exit.code, stdout: of('stdout'), stderr: of('stderr') };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tw-search-cli-'));
  c = await startCluster({ workers: 1, master: { dataDir: dir } });
  await c.waitForWorkers(1);
  for (let i = 0; i < 5; i++) {
    const t = await runTask(c.httpUrl, { kind: 'echo', input: { text: i % 2 ? `a pelican ${i}` : `a heron ${i}` } });
    if (i % 2) pelicans.unshift(t.id);
  }
}, 30_000);
afterAll(async () => {
  await group.stopAll();
  await c?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('taskwire tasks search / export', () => {
  it('searches by text and filter, follows the cursor with --all', async () => {
    const found = await cli(['tasks', 'search', '--grep', 'pelican', '-o', 'jsonl']);
    expect(found.code, found.stderr).toBe(0);
    expect(found.stdout.split('\n').map((l) => (JSON.parse(l) as { id: string }).id)).toEqual(pelicans);
    const all = await cli(['tasks', 'search', '--kind', 'echo', '--limit', '2', '--all', '-o', 'json']);
    expect(all.code, all.stderr).toBe(0);
    expect((JSON.parse(all.stdout) as { tasks: unknown[]; next_cursor: null }).tasks).toHaveLength(5);
    const tableOut = await cli(['tasks', 'search', '--status', 'succeeded', '--limit', '2']);
    expect(tableOut.stdout).toMatch(/^ID\s+KIND\s+STATUS/);
    expect(tableOut.stderr).toMatch(/^more: --cursor \S+$/m);
  });

  it('exports a filter as CSV to stdout and JSON Lines to a file', async () => {
    const csv = await cli(['tasks', 'export', '--grep', 'pelican', '--format', 'csv']);
    expect(csv.code, csv.stderr).toBe(0);
    const rows = csv.stdout.split('\n');
    expect(rows[0]).toMatch(/^id,kind,model,status/);
    expect(rows.slice(1).map((r) => r.split(',')[0])).toEqual(pelicans);
    const out = join(dir, 'tasks.jsonl');
    const file = await cli(['tasks', 'export', '--kind', 'echo', '--out', out]);
    expect(file.code, file.stderr).toBe(0);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(5);
  });

  it('list is search: the filters as flags or one --filter string, also for export', async () => {
    const listed = await cli(['tasks', 'list', '--filter', 'kind=echo,grep=pelican', '-o', 'jsonl']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout.split('\n').map((l) => (JSON.parse(l) as { id: string }).id)).toEqual(pelicans);
    const statuses = await cli(['tasks', 'list', '--filter', 'status=failed|succeeded', '--json']);
    expect(statuses.code, statuses.stderr).toBe(0);
    expect((JSON.parse(statuses.stdout) as { tasks: unknown[] }).tasks).toHaveLength(5);
    const csv = await cli(['tasks', 'export', '--filter', 'q=pelican', '--format', 'csv']);
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.stdout.split('\n').slice(1).map((r) => r.split(',')[0])).toEqual(pelicans);
    const unknown = await cli(['tasks', 'list', '--filter', 'colour=blue']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--filter: "colour=blue" is not one of status=/);
    const twice = await cli(['tasks', 'list', '--filter', 'kind=echo', '--kind', 'sleep']);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(/--filter kind= and --kind both given/);
  });

  it('--watch prints tasks list and tasks show again until stopped', async () => {
    for (const args of [['tasks', 'list', '--filter', 'grep=pelican', '-o', 'jsonl', '--watch', '150'], ['tasks', 'show', pelicans[0]!, '-o', 'jsonl', '--watch', '150']]) {
      const p = group.taskwire(`cli ${args.join(' ')}`, args, { env: { TASKWIRE_URL: c.httpUrl, TASKWIRE_API_KEY: '' } });
      const per = args[1] === 'list' ? pelicans.length : 1;
      const out = () => p.lines.filter((l) => l.stream === 'stdout');
      await waitFor(() => out().length >= 3 * per, `three rounds of ${args.join(' ')}`, 15_000);
      expect(p.exit).toBeUndefined();
      await p.stop(2000);
      const ids = out().map((l) => (JSON.parse(l.text) as { id: string }).id);
      expect(ids.slice(0, 3 * per)).toEqual([...Array(3)].flatMap(() => (per === 1 ? [pelicans[0]] : pelicans)));
    }
    expect((await cli(['tasks', 'list', '--watch', '5'])).code).toBe(2);
  });

  it('a bad filter is a usage error (exit 2)', async () => {
    expect((await cli(['tasks', 'search', '--status', 'sideways'])).code).toBe(2);
    expect((await cli(['tasks', 'export', '--since', 'soon'])).code).toBe(2);
  });
});
