/**
 * `taskwire events [--follow] [--since ID] [--type T,...] [--task ID]
 * [--worker ID] [--kind K] [--status S] [--batch ID] [-o text|json|jsonl]`: the master's
 * event stream (GET /api/v1/events). Without --follow it prints the stored
 * events after --since (default: all kept) and exits; with --follow it keeps
 * streaming, and on a dropped connection resumes from the last id it printed
 * (Last-Event-ID), so nothing is shown twice or skipped.
 */
import { type Command, Option } from 'commander';
import { TaskwireError, errorMessage } from '../common/errors.js';
import { URL_HELP, authHeaders, masterUrl } from './client-commands.js';
import { CliExit } from './operator-commands.js';
import { sseStream } from './sse-client.js';

interface EventsOptions {
  url?: string;
  follow?: boolean;
  since?: string;
  type?: string;
  task?: string;
  worker?: string;
  kind?: string;
  status?: string;
  batch?: string;
  output: 'text' | 'json' | 'jsonl';
}

type Ev = {
  id: number;
  type: string;
  ts: number;
  task_id?: string | null;
  worker_id?: string | null;
  kind?: string;
  attempt?: number;
  batch_id?: string;
  name?: string;
  status?: string;
  counts?: { total: number; succeeded: number; failed: number };
};


function line(e: Ev, output: EventsOptions['output']): string {
  if (output !== 'text') return JSON.stringify(e);
  const batch = e.batch_id ? [`batch=${e.batch_id}`, e.name && `image=${e.name}`, e.status && `status=${e.status}`, e.counts && `done=${e.counts.succeeded + e.counts.failed}/${e.counts.total}`] : [];
  const who = [...batch, e.task_id && `task=${e.task_id}`, e.kind && `kind=${e.kind}`, e.attempt ? `attempt=${e.attempt}` : '', e.worker_id && `worker=${e.worker_id}`].filter(Boolean).join(' ');
  return `${String(e.id).padStart(8)}  ${new Date(e.ts).toISOString()}  ${e.type.padEnd(15)} ${who}`;
}

function query(o: EventsOptions, extra: Record<string, string>): string {
  const q = new URLSearchParams(extra);
  for (const k of ['type', 'task', 'worker', 'kind', 'status', 'batch'] as const) if (o[k]) q.set(k, o[k]!);
  return q.toString();
}

async function page(base: string, o: EventsOptions): Promise<void> {
  const res = await fetch(`${base}/api/v1/events?${query(o, { follow: 'false', since: o.since ?? '0', limit: '10000' })}`, { headers: authHeaders() });
  const body = (await res.json()) as { events?: Ev[]; error?: { message?: string } };
  if (!res.ok) throw new TaskwireError(res.status === 404 ? 'NOT_FOUND' : 'BAD_REQUEST', `GET ${base}/api/v1/events: HTTP ${res.status}: ${body.error?.message ?? ''}`);
  const events = body.events ?? [];
  if (o.output === 'json') process.stdout.write(`${JSON.stringify(events, null, 2)}\n`);
  else for (const e of events) process.stdout.write(`${line(e, o.output)}\n`);
}

async function followStream(base: string, o: EventsOptions): Promise<void> {
  let last: number | undefined = o.since !== undefined ? Number(o.since) : undefined;
  let backoff = 250;
  for (;;) {
    try {
      for await (const m of sseStream(`${base}/api/v1/events?${query(o, {})}`, last, undefined, () => (backoff = 250))) {
        if (m.id === undefined) continue;
        last = m.id;
        process.stdout.write(`${line({ id: m.id, ...(JSON.parse(m.data) as Omit<Ev, 'id'>) }, o.output === 'json' ? 'jsonl' : o.output)}\n`);
      }
    } catch (err) {
      if (err instanceof TaskwireError) throw err;
      // A refusal (4xx) ends the command as before; anything else is retried.
      if (err instanceof CliExit) throw new TaskwireError('BAD_REQUEST', err.message);
      process.stderr.write(`taskwire: event stream from ${base} interrupted (${errorMessage(err)}); resuming${last !== undefined ? ` after ${last}` : ''}\n`);
    }
    await new Promise((r) => setTimeout(r, backoff));
    backoff = Math.min(backoff * 2, 5000);
  }
}

export function eventsCommand(program: Command): void {
  program
    .command('events')
    .description('print the event stream (task and worker events); --follow keeps streaming and resumes after a disconnect')
    .option('--url <url>', URL_HELP)
    .option('-f, --follow', 'keep streaming new events')
    .option('--since <id>', 'only events after this id')
    .option('--type <types>', 'comma-separated event types, e.g. task.failed,task.expired')
    .option('--task <id>', 'events of one task')
    .option('--worker <id>', 'events of one worker')
    .option('--kind <kind>', 'events of one task kind')
    .option('--status <status>', 'final events with this status (succeeded, failed, cancelled, expired)')
    .option('--batch <id>', 'the progress of one image batch (batch.image and batch.finished events)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json', 'jsonl']).default('text'))
    .action(async (o: EventsOptions) => {
      const base = masterUrl(o.url);
      if (o.since !== undefined && !/^\d+$/.test(o.since)) throw new TaskwireError('BAD_REQUEST', `--since: expected an event id (a whole number), got "${o.since}"`);
      if (o.follow) await followStream(base, o);
      else await page(base, o);
    });
}
