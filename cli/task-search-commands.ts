/**
 * `taskwire tasks list` (alias `search`) and `taskwire tasks export`, added
 * to the `tasks` group of operator-commands.ts: the server-side search of
 * GET /api/v1/tasks (filters as flags or one `--filter k=v,...`, full-text
 * `--grep`, cursor pages; `--all` follows next_cursor to the end, `--watch`
 * prints again) and the streamed export of GET /api/v1/tasks/export (CSV,
 * JSON Lines or JSON, to stdout or `--out FILE`, never held in memory).
 * Exit codes as every operator command (2 usage / HTTP 400, 3 not found).
 */
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { errorMessage } from '../common/errors.js';
import { URL_HELP, authHeaders, masterUrl } from './client-commands.js';
import { CliExit, EXIT, operatorRequest, outputOf, printList, TASK_COLUMNS, watching } from './operator-commands.js';

interface FilterOptions {
  url?: string;
  status?: string;
  kind?: string;
  model?: string;
  worker?: string;
  priority?: string;
  session?: string;
  since?: string;
  until?: string;
  grep?: string;
}

/** The `--filter` keys: each names the flag it stands for (`q` and `grep` are the text). */
const FILTER_KEYS = { status: 'status', kind: 'kind', model: 'model', worker: 'worker', priority: 'priority', session: 'session', since: 'since', until: 'until', q: 'grep', grep: 'grep' } as const;

/**
 * `--filter status=failed,kind=echo,grep=timeout` into the flags' options
 * (the form of `tasks cancel|retry --filter`, with every search field);
 * a key also given as its own flag is a usage error.
 */
export function withFilterString(o: FilterOptions & { filter?: string }): FilterOptions {
  if (o.filter === undefined) return o;
  const out: FilterOptions = { ...o };
  const parts = o.filter.split(',').map((p) => p.trim()).filter(Boolean);
  if (parts.length === 0) throw new CliExit(EXIT.usage, '--filter: empty');
  for (const part of parts) {
    const m = /^([a-z]+)=(.*)$/.exec(part);
    const flag = m && (FILTER_KEYS as Record<string, keyof FilterOptions>)[m[1]!];
    if (!m || !flag || m[2] === '') throw new CliExit(EXIT.usage, `--filter: "${part}" is not one of ${Object.keys(FILTER_KEYS).map((k) => `${k}=...`).join(', ')}`);
    if (o[flag] !== undefined) throw new CliExit(EXIT.usage, `--filter ${m[1]}= and --${flag} both given`);
    // A status list inside --filter is written status=failed|expired (the commas part the filter).
    out[flag] = flag === 'status' ? m[2]!.replaceAll('|', ',') : m[2]!;
  }
  return out;
}

function withFilters(cmd: Command): Command {
  return cmd
    .option('--url <url>', URL_HELP)
    .option('--filter <k=v,...>', `the filters in one string: ${Object.keys(FILTER_KEYS).join(', ')} (a status list: status=failed|expired)`)
    .option('--status <list>', 'one status or a comma list (queued,assigned,running,succeeded,failed,cancelled,expired)')
    .option('--kind <kind>', 'task kind')
    .option('--model <model>', 'required model')
    .option('--worker <id>', 'worker that ran it')
    .option('--priority <0-9>', 'priority')
    .option('--session <id>', 'browser session')
    .option('--since <time>', 'created at or after (ISO 8601 or ms since the epoch)')
    .option('--until <time>', 'created before (ISO 8601 or ms since the epoch)')
    .option('--grep <words>', 'words that must all occur in the input, result or error (full-text)');
}

function query(o: FilterOptions, extra: Record<string, string>): string {
  const q = new URLSearchParams(extra);
  for (const [k, v] of [['status', o.status], ['kind', o.kind], ['model', o.model], ['worker', o.worker], ['priority', o.priority], ['session', o.session], ['since', o.since], ['until', o.until], ['q', o.grep]] as const) {
    if (v !== undefined) q.set(k, v);
  }
  return q.toString();
}

function fail(err: unknown): never {
  process.stderr.write(`taskwire: ${errorMessage(err)}\n`);
  process.exit(err instanceof CliExit ? err.exitCode : err instanceof InvalidArgumentError ? EXIT.usage : EXIT.other);
}

export function taskSearchCommands(program: Command): void {
  const tasks = program.commands.find((c) => c.name() === 'tasks');
  if (!tasks) throw new Error('the tasks command group must be registered first (operatorCommands)');
  withFilters(tasks.command('list').alias('search').description('list or search every stored task server-side: filters, --grep full-text, newest first (operator)'))
    .option('--limit <n>', 'tasks per page (1-1000)', '50')
    .option('--all', 'follow next_cursor to the last page')
    .option('--cursor <cursor>', 'start at this next_cursor')
    .addOption(new Option('-o, --output <format>', 'output format (text = table)').choices(['table', 'text', 'json', 'jsonl']))
    .option('--json', 'same as -o json')
    .option('--watch <ms>', 'print again every ms until interrupted')
    .action(async (raw: FilterOptions & { filter?: string; limit: string; all?: boolean; cursor?: string; output?: string; json?: boolean; watch?: string }) => {
      try {
        const o = { ...raw, ...withFilterString(raw) };
        const out = outputOf(o);
        await watching(o, async () => {
          let cursor = o.cursor;
          const rows: Record<string, unknown>[] = [];
          let next: string | null = null;
          for (;;) {
            const page = (await operatorRequest(o.url, 'GET', `/api/v1/tasks?${query(o, { limit: o.limit, ...(cursor && { cursor }) })}`)) as { tasks: Record<string, unknown>[]; next_cursor: string | null };
            if (out === 'jsonl') printList('tasks', page.tasks, out, TASK_COLUMNS);
            else rows.push(...page.tasks);
            next = page.next_cursor;
            if (!o.all || next === null) break;
            cursor = next;
          }
          if (out === 'json') process.stdout.write(`${JSON.stringify({ tasks: rows, next_cursor: next }, null, 2)}\n`);
          else if (out === 'table') {
            printList('tasks', rows, out, TASK_COLUMNS);
            if (next !== null) process.stderr.write(`more: --cursor ${next}\n`);
          }
        });
      } catch (err) {
        fail(err);
      }
    });
  withFilters(tasks.command('export').description('stream every task of a filter as CSV, JSON Lines or JSON (operator)'))
    .addOption(new Option('--format <format>', 'file format').choices(['csv', 'jsonl', 'json']).default('jsonl'))
    .option('--out <file>', 'write to this file instead of stdout')
    .action(async (raw: FilterOptions & { filter?: string; format: string; out?: string }) => {
      try {
        const o = { ...raw, ...withFilterString(raw) };
        const url = `${masterUrl(o.url)}/api/v1/tasks/export?${query(o, { format: o.format })}`;
        let res: Response;
        try {
          res = await fetch(url, { headers: authHeaders() });
        } catch (err) {
          throw new CliExit(EXIT.other, `cannot reach the master at ${masterUrl(o.url)} (${errorMessage(err)})`);
        }
        if (!res.ok || !res.body) {
          const text = await res.text();
          throw new CliExit(res.status === 400 ? EXIT.usage : res.status === 404 ? EXIT.notFound : EXIT.other, `GET /api/v1/tasks/export: HTTP ${res.status}: ${text.slice(0, 300)}`);
        }
        await pipeline(Readable.fromWeb(res.body as Parameters<typeof Readable.fromWeb>[0]), o.out ? createWriteStream(o.out) : process.stdout);
      } catch (err) {
        fail(err);
      }
    });
}
