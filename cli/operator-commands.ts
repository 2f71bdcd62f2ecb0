/**
 * Operator commands against a running master (docs/OPERATIONS.md):
 *   taskwire cluster status
 *   taskwire workers [list] | show <id> | drain <id> | resume <id>
 *   taskwire tasks show <id> [--watch MS] | result <id> | cancel <id> | retry <id>
 *   (tasks list|search and export: task-search-commands.ts)
 *   taskwire tasks cancel|retry --filter status=...,kind=...,worker=... [--dry-run] [--limit N]
 * Every one takes `-o table|json|jsonl` (`text` = table, `--json` = json)
 * and prints the REST API's own field names. Exit codes: 0 ok, 1 other
 * error (unreachable master, conflict, a task that failed), 2 usage (bad
 * arguments, HTTP 400), 3 not found (HTTP 404), 4 timeout.
 * `Authorization: Bearer $TASKWIRE_API_KEY` is sent when the variable is set.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { errorMessage } from '../common/errors.js';
import type { ClusterView, TaskView } from '../common/task-view.js';
import { URL_HELP, authHeaders, masterUrl } from './client-commands.js';

export const EXIT = { ok: 0, other: 1, usage: 2, notFound: 3, timeout: 4 } as const;

type Output = 'table' | 'json' | 'jsonl';
interface CommonOptions {
  url?: string;
  output?: string;
  json?: boolean;
}

/** An error with the exit code the CLI ends with. */
export class CliExit extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

export function outputOf(o: CommonOptions): Output {
  if (o.json) return 'json';
  if (o.output === 'json' || o.output === 'jsonl') return o.output;
  return 'table';
}


/** One REST call; HTTP errors become CliExit with the documented code. */
export async function operatorRequest(url: string | undefined, method: string, path: string, timeoutMs = 30_000, body?: unknown): Promise<unknown> {
  const base = masterUrl(url);
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? authHeaders() : { ...authHeaders(), 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    if ((err as Error).name === 'TimeoutError') throw new CliExit(EXIT.timeout, `${method} ${base}${path}: no answer within ${timeoutMs} ms`);
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new CliExit(
      EXIT.other,
      `cannot reach the master at ${base} (${cause?.code ?? cause?.message ?? errorMessage(err)}); is it running? Point the CLI at it with --url or TASKWIRE_URL (or TASKWIRE_HTTP_PORT for a local master)`,
    );
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CliExit(EXIT.other, `${method} ${base}${path}: HTTP ${res.status}: ${text.slice(0, 200)}`);
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string } }).error;
    const code = res.status === 404 ? EXIT.notFound : res.status === 400 ? EXIT.usage : res.status === 408 || res.status === 504 ? EXIT.timeout : EXIT.other;
    throw new CliExit(code, `${method} ${path}: HTTP ${res.status} ${e?.code ?? ''}: ${e?.message ?? text}`.replace(/ +:/, ':'));
  }
  return json;
}

const cell = (v: unknown): string => (v === null || v === undefined ? '-' : Array.isArray(v) ? v.join(',') : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** Rows as an aligned table with a header line. */
export function table(rows: Record<string, unknown>[], columns: string[]): string {
  const cells = rows.map((r) => columns.map((c) => cell(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => r.map((x, i) => (i === r.length - 1 ? x : x.padEnd(widths[i]!))).join('  ');
  return [fmt(columns.map((c) => c.toUpperCase())), ...cells.map(fmt)].join('\n') + '\n';
}

/** A list: json = `{[key]: rows}`, jsonl = one row per line, table = columns. */
export function printList(key: string, rows: Record<string, unknown>[], out: Output, columns: string[]): void {
  if (out === 'json') process.stdout.write(`${JSON.stringify({ [key]: rows }, null, 2)}\n`);
  else if (out === 'jsonl') process.stdout.write(rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
  else process.stdout.write(table(rows, columns));
}

/** One object: json pretty, jsonl one line, table as `field  value` lines. */
function printOne(obj: Record<string, unknown>, out: Output, fields?: string[]): void {
  if (out === 'json') process.stdout.write(`${JSON.stringify(obj, null, 2)}\n`);
  else if (out === 'jsonl') process.stdout.write(`${JSON.stringify(obj)}\n`);
  else {
    const keys = fields ?? Object.keys(obj);
    const w = Math.max(...keys.map((k) => k.length));
    process.stdout.write(keys.map((k) => `${k.padEnd(w)}  ${cell(obj[k])}\n`).join(''));
  }
}

const WORKER_COLUMNS = ['id', 'state', 'language', 'running', 'capacity', 'load', 'heartbeat_age_ms', 'tasks_succeeded', 'tasks_failed', 'run_ms_p95', 'kinds'];
export const TASK_COLUMNS = ['id', 'kind', 'status', 'priority', 'attempt', 'worker_id', 'created_at'];
const TASK_FIELDS = ['id', 'kind', 'status', 'priority', 'attempt', 'worker_id', 'created_at', 'finished_at', 'error', 'result'];

function withCommon(cmd: Command): Command {
  return cmd
    .option('--url <url>', URL_HELP)
    .addOption(new Option('-o, --output <format>', 'output format (text = table)').choices(['table', 'text', 'json', 'jsonl']))  // no default: the group's and the subcommand's values merge
    .option('--json', 'same as -o json');
}

/** Runs an action; a CliExit (or any error) ends the process with its code. */
function run<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      const code = err instanceof CliExit ? err.exitCode : err instanceof InvalidArgumentError ? EXIT.usage : EXIT.other;
      process.stderr.write(`taskwire: ${errorMessage(err)}\n`);
      process.exit(code);
    }
  };
}

/** Commander's own usage errors (unknown option, missing argument) exit 2; help exits 0. */
function usageExit(err: CommanderError): never {
  process.exit(err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.help' ? 0 : EXIT.usage);
}

const enc = encodeURIComponent;

/** `--watch <ms>`: print again every ms until interrupted (a TTY table redraws in place); once without it. */
export async function watching(o: { watch?: string; output?: string; json?: boolean }, once: () => Promise<void>): Promise<void> {
  if (o.watch === undefined) return once();
  const ms = Number(o.watch);
  if (!Number.isInteger(ms) || ms < 100) throw new CliExit(EXIT.usage, '--watch: an interval in ms, at least 100');
  const redraw = outputOf(o) === 'table' && process.stdout.isTTY === true;
  for (;;) {
    if (redraw) process.stdout.write('\x1b[2J\x1b[H');
    await once();
    if (outputOf(o) === 'table' && !redraw) process.stdout.write('\n');
    await new Promise((r) => setTimeout(r, ms));
  }
}

export const withWatch = (cmd: Command): Command => cmd.option('--watch <ms>', 'print again every ms until interrupted');

/** `--filter status=failed,kind=echo,worker=w1` -> the bulk route's filter. */
export function parseFilter(raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of raw.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^(status|kind|worker)=(.+)$/.exec(part);
    if (!m) throw new CliExit(EXIT.usage, `--filter: "${part}" is not status=..., kind=... or worker=...`);
    out[m[1]!] = m[2]!;
  }
  if (Object.keys(out).length === 0) throw new CliExit(EXIT.usage, '--filter: empty');
  return out;
}

type BulkOptions = CommonOptions & { filter?: string; dryRun?: boolean; limit?: string };

/** `tasks cancel|retry --filter ... [--dry-run]`: the bulk route; prints {matched, affected, ...}. */
async function bulk(action: 'cancel' | 'retry', o: BulkOptions): Promise<void> {
  const limit = o.limit === undefined ? 1000 : Number(o.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new CliExit(EXIT.usage, '--limit must be an integer from 1 to 10000');
  const r = (await operatorRequest(o.url, 'POST', `/api/v1/tasks/bulk/${action}`, 120_000, { filter: parseFilter(o.filter!), dry_run: o.dryRun === true, limit })) as Record<string, unknown>;
  printOne(r, outputOf(o), ['action', 'dry_run', 'matched', 'affected', 'truncated']);
}

function withBulk(cmd: Command): Command {
  return cmd
    .option('--filter <k=v,...>', 'act on every task matching status=, kind=, worker= (instead of one id)')
    .option('--dry-run', 'with --filter: only count the matches')
    .option('--limit <n>', 'with --filter: at most n tasks (default 1000, up to 10000)');
}

/** One id, or --filter (not both, not neither). */
function idOrFilter(id: string | undefined, o: BulkOptions): boolean {
  if (id !== undefined && o.filter !== undefined) throw new CliExit(EXIT.usage, 'give a task id or --filter, not both');
  if (id === undefined && o.filter === undefined) throw new CliExit(EXIT.usage, 'give a task id or --filter');
  if (id !== undefined && (o.dryRun || o.limit !== undefined)) throw new CliExit(EXIT.usage, '--dry-run and --limit go with --filter');
  return o.filter !== undefined;
}

function workersGroup(program: Command): void {
  // The older flat `taskwire workers` (client-commands.ts) becomes this group; its bare form still lists.
  const list = program.commands as Command[];
  const old = list.findIndex((c) => c.name() === 'workers');
  if (old >= 0) list.splice(old, 1);
  const listWorkers = run(async (o: CommonOptions & { watch?: string }) =>
    watching(o, async () => {
      const body = (await operatorRequest(o.url, 'GET', '/api/v1/workers')) as { workers: Record<string, unknown>[] };
      printList('workers', body.workers, outputOf(o), WORKER_COLUMNS);
    }),
  );
  const g = withWatch(withCommon(program.command('workers').description('list workers (bare), or list|show|drain|resume').exitOverride(usageExit)));
  g.action((o: CommonOptions) => listWorkers(o));
  withWatch(withCommon(g.command('list').description('list workers with load and task statistics'))).action((_o: CommonOptions, cmd: Command) => listWorkers(cmd.optsWithGlobals<CommonOptions>()));
  withCommon(g.command('show <id>').description('one worker in detail')).action(
    run(async (id: string, _o: CommonOptions, cmd: Command) => {
      const o = cmd.optsWithGlobals<CommonOptions>();
      printOne((await operatorRequest(o.url, 'GET', `/api/v1/workers/${enc(id)}`)) as Record<string, unknown>, outputOf(o));
    }),
  );
  for (const action of ['drain', 'resume'] as const) {
    withCommon(
      g.command(`${action} <id>`).description(action === 'drain' ? 'stop giving the worker new work; its running tasks finish' : 'give a drained worker work again'),
    ).action(
      run(async (id: string, _o: CommonOptions, cmd: Command) => {
        const o = cmd.optsWithGlobals<CommonOptions>();
        const w = (await operatorRequest(o.url, 'POST', `/api/v1/workers/${enc(id)}/${action}`)) as Record<string, unknown>;
        printOne(w, outputOf(o), ['id', 'state', 'confirmed', 'running', 'capacity']);
        if (w['confirmed'] === false) throw new CliExit(EXIT.timeout, `worker ${id} did not confirm the ${action} yet (it was sent)`);
      }),
    );
  }
}

function tasksGroup(program: Command): void {
  const g = program.command('tasks').description('list|show|result|cancel|retry tasks').exitOverride(usageExit);
  // `tasks list` (alias `search`) and `tasks export`: task-search-commands.ts.
  withWatch(withCommon(g.command('show <id>').description('one task'))).action(
    run(async (id: string, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<CommonOptions & { watch?: string }>();
      await watching(o, async () => printOne((await operatorRequest(o.url, 'GET', `/api/v1/tasks/${enc(id)}`)) as Record<string, unknown>, outputOf(o), TASK_FIELDS));
    }),
  );
  withCommon(g.command('result <id>').description("a task's result (exit 1 when it failed, 4 when --wait runs out)"))
    .option('--wait <ms>', 'wait up to ms for the task to finish', '0')
    .action(
      run(async (id: string, _o: unknown, cmd: Command) => {
        const o = cmd.optsWithGlobals<CommonOptions & { wait: string }>();
        const waitMs = Number(o.wait);
        if (!Number.isFinite(waitMs) || waitMs < 0) throw new CliExit(EXIT.usage, '--wait must be a number of ms');
        const until = Date.now() + waitMs;
        let t = (await operatorRequest(o.url, 'GET', `/api/v1/tasks/${enc(id)}`)) as TaskView;
        while (!['succeeded', 'failed', 'cancelled', 'expired'].includes(t.status)) {
          if (Date.now() >= until) throw new CliExit(EXIT.timeout, `task ${id} is still ${t.status}`);
          await new Promise((r) => setTimeout(r, 100));
          t = (await operatorRequest(o.url, 'GET', `/api/v1/tasks/${enc(id)}`)) as TaskView;
        }
        const out = outputOf(o);
        const body = { id: t.id, status: t.status, result: t.result, error: t.error };
        if (out === 'table') process.stdout.write(t.result !== null ? `${typeof t.result === 'string' ? t.result : JSON.stringify(t.result, null, 2)}\n` : '');
        else printOne(body, out);
        if (t.status !== 'succeeded') throw new CliExit(EXIT.other, `task ${id} ${t.status}${t.error ? `: ${t.error.code}: ${t.error.message}` : ''}`);
      }),
    );
  withBulk(withCommon(g.command('cancel [id]').description('cancel a queued or running task, or every one matching --filter'))).action(
    run(async (id: string | undefined, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<BulkOptions>();
      if (idOrFilter(id, o)) return bulk('cancel', o);
      printOne((await operatorRequest(o.url, 'POST', `/api/v1/tasks/${enc(id!)}/cancel`)) as Record<string, unknown>, outputOf(o), TASK_COLUMNS);
    }),
  );
  withBulk(withCommon(g.command('retry [id]').description('run a failed, expired or cancelled task again (a new task; prints it), or every one matching --filter'))).action(
    run(async (id: string | undefined, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<BulkOptions>();
      if (idOrFilter(id, o)) return bulk('retry', o);
      const r = (await operatorRequest(o.url, 'POST', `/api/v1/tasks/${enc(id!)}/retry`)) as { task: TaskView; retry_of: string; created: boolean };
      const out = outputOf(o);
      if (out === 'table') printOne({ ...r.task, retry_of: r.retry_of, created: r.created }, out, ['id', 'retry_of', 'created', 'kind', 'status']);
      else printOne(r as unknown as Record<string, unknown>, out);
    }),
  );
}

function clusterGroup(program: Command): void {
  const g = program.command('cluster').description('cluster overview').exitOverride(usageExit);
  withWatch(withCommon(g.command('status').description('workers, queue, running, capacity, throughput'))).action(
    run(async (_o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<CommonOptions & { watch?: string }>();
      await watching(o, () => clusterOnce(o));
    }),
  );
}

async function clusterOnce(o: CommonOptions): Promise<void> {
  const c = (await operatorRequest(o.url, 'GET', '/api/v1/cluster')) as ClusterView;
  const out = outputOf(o);
  if (out !== 'table') return printOne(c as unknown as Record<string, unknown>, out);
  const w = c.workers;
  printOne(
    {
      master_id: c.master_id,
      workers: `${w.online} online (${w.busy} busy, ${w.idle} idle), ${w.draining} draining, ${w.offline} offline`,
      queued: c.queued,
      running: c.running,
      capacity: c.capacity,
      submitted_per_s: c.submitted_per_s,
      completed_per_s: c.completed_per_s,
      kinds: c.kinds,
    },
    'table',
  );
}

/** Registers `cluster`, `workers` (replacing the flat one) and `tasks`. Call after getCancelWorkersCommands. */
export function operatorCommands(program: Command): void {
  clusterGroup(program);
  workersGroup(program);
  tasksGroup(program);
}
