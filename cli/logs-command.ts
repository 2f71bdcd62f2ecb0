/**
 * `taskwire logs [--follow] [--worker ID] [--task ID] [--source S]
 * [--level L] [--grep TEXT] [--since TIME] [--until TIME] [--limit N]
 * [-o text|json|jsonl]`: the kept log lines of the master and the workers
 * (GET /api/v1/logs). Prints the newest --limit lines that match, oldest
 * first; --follow then keeps printing new ones and resumes after a dropped
 * connection from the last id it printed (nothing twice, nothing skipped).
 * Exit codes as every operator command: 2 usage / HTTP 400, 3 not found.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { errorMessage } from '../common/errors.js';
import { URL_HELP, masterUrl } from './client-commands.js';
import { CliExit, EXIT, operatorRequest } from './operator-commands.js';
import { sseStream } from './sse-client.js';

interface LogsOptions {
  url?: string;
  follow?: boolean;
  worker?: string;
  task?: string;
  source?: string;
  level?: string;
  grep?: string;
  since?: string;
  until?: string;
  limit: string;
  output: 'text' | 'json' | 'jsonl';
}

interface Line {
  id: number;
  ts: string;
  level: string;
  source: string;
  task_id: string | null;
  msg: string;
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

function format(l: Line, output: LogsOptions['output']): string {
  if (output !== 'text') return JSON.stringify(l);
  return `${l.ts}  ${l.level.toUpperCase().padEnd(5)}  ${l.source}${l.task_id ? `  task=${l.task_id}` : ''}  ${l.msg}`;
}

function query(o: LogsOptions, extra: Record<string, string>): string {
  const q = new URLSearchParams(extra);
  if (o.worker) q.set('worker', o.worker);
  if (o.task) q.set('task', o.task);
  if (o.source) q.set('source', o.source);
  if (o.level) q.set('level', o.level);
  if (o.grep) q.set('q', o.grep);
  if (o.since) q.set('since', o.since);
  if (o.until) q.set('until', o.until);
  return q.toString();
}

async function follow(base: string, o: LogsOptions, after: number): Promise<never> {
  let last = after;
  let backoff = 250;
  for (;;) {
    try {
      for await (const m of sseStream(`${base}/api/v1/logs?${query(o, { follow: 'true', after: String(after) })}`, last)) {
        if (m.event === 'overflow') throw new Error('the master cut the stream off (too slow)');
        if (m.event !== 'log' || m.id === undefined) continue;
        last = m.id;
        backoff = 250;
        process.stdout.write(`${format(JSON.parse(m.data) as Line, o.output === 'json' ? 'jsonl' : o.output)}\n`);
      }
    } catch (err) {
      if (err instanceof CliExit) throw err;
      process.stderr.write(`taskwire: log stream from ${base} interrupted (${errorMessage(err)}); resuming after ${last}\n`);
    }
    await new Promise((r) => setTimeout(r, backoff));
    backoff = Math.min(backoff * 2, 5000);
  }
}

export function logsCommand(program: Command): void {
  program
    .command('logs')
    // Commander's own usage errors (unknown option, bad choice) exit 2 like every operator command; help exits 0.
    .exitOverride((err) => process.exit(err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.help' ? 0 : EXIT.usage))
    .description('print the kept log lines of the master and the workers; --follow keeps streaming new ones')
    .option('--url <url>', URL_HELP)
    .option('-f, --follow', 'keep printing new lines')
    .option('--worker <id>', 'lines of one worker')
    .option('--task <id>', 'lines about one task')
    .option('--source <source>', 'lines of one source (master or a worker id)')
    .addOption(new Option('--level <level>', 'this level and above').choices(LEVELS))
    .option('--grep <text>', 'lines whose message has all these words (full-text)')
    .option('--since <time>', 'from this time (ISO 8601 or ms since the epoch)')
    .option('--until <time>', 'before this time (ISO 8601 or ms since the epoch)')
    .option('--limit <n>', 'how many of the newest lines to print first (1-1000)', '100')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json', 'jsonl']).default('text'))
    .action(async (o: LogsOptions) => {
      try {
        if (!/^\d+$/.test(o.limit) || Number(o.limit) < 1 || Number(o.limit) > 1000) throw new InvalidArgumentError(`--limit: expected 1-1000, got "${o.limit}"`);
        const base = masterUrl(o.url);
        const page = (await operatorRequest(o.url, 'GET', `/api/v1/logs?${query(o, { limit: o.limit })}`)) as { logs: Line[]; last_id: number };
        const lines = [...page.logs].reverse();
        if (o.output === 'json' && !o.follow) process.stdout.write(`${JSON.stringify({ logs: lines }, null, 2)}\n`);
        else for (const l of lines) process.stdout.write(`${format(l, o.output === 'json' ? 'jsonl' : o.output)}\n`);
        if (o.follow) await follow(base, o, page.last_id);
      } catch (err) {
        const code = err instanceof CliExit ? err.exitCode : err instanceof InvalidArgumentError ? EXIT.usage : EXIT.other;
        process.stderr.write(`taskwire: ${errorMessage(err)}\n`);
        process.exit(code);
      }
    });
}
