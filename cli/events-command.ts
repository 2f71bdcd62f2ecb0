/**
 * `taskwire events [--follow] [--since ID] [--type T,...] [--task ID]
 * [--worker ID] [--kind K] [--status S] [-o text|json|jsonl]`: the master's
 * event stream (GET /api/v1/events). Without --follow it prints the stored
 * events after --since (default: all kept) and exits; with --follow it keeps
 * streaming, and on a dropped connection resumes from the last id it printed
 * (Last-Event-ID), so nothing is shown twice or skipped.
 */
import { type Command, Option } from 'commander';
import { TaskwireError, errorMessage } from '../common/errors.js';
import { URL_HELP, authHeaders, masterUrl } from './client-commands.js';

interface EventsOptions {
  url?: string;
  follow?: boolean;
  since?: string;
  type?: string;
  task?: string;
  worker?: string;
  kind?: string;
  status?: string;
  output: 'text' | 'json' | 'jsonl';
}

type Ev = { id: number; type: string; ts: number; task_id?: string; worker_id?: string | null; kind?: string; attempt?: number };


function line(e: Ev, output: EventsOptions['output']): string {
  if (output !== 'text') return JSON.stringify(e);
  const who = [e.task_id && `task=${e.task_id}`, e.kind && `kind=${e.kind}`, e.attempt ? `attempt=${e.attempt}` : '', e.worker_id && `worker=${e.worker_id}`].filter(Boolean).join(' ');
  return `${String(e.id).padStart(8)}  ${new Date(e.ts).toISOString()}  ${e.type.padEnd(15)} ${who}`;
}

function query(o: EventsOptions, extra: Record<string, string>): string {
  const q = new URLSearchParams(extra);
  for (const k of ['type', 'task', 'worker', 'kind', 'status'] as const) if (o[k]) q.set(k, o[k]!);
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
      const headers: Record<string, string> = { ...authHeaders(), accept: 'text/event-stream' };
      if (last !== undefined) headers['last-event-id'] = String(last);
      const res = await fetch(`${base}/api/v1/events?${query(o, {})}`, { headers });
      if (res.status >= 400 && res.status < 500) throw new TaskwireError('BAD_REQUEST', `GET ${base}/api/v1/events: HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`);
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      backoff = 250;
      const reader = res.body.getReader();
      const dec = new TextDecoder();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let id: number | undefined;
          let data: string | undefined;
          for (const l of block.split('\n')) {
            if (l.startsWith('id: ')) id = Number(l.slice(4));
            else if (l.startsWith('data: ')) data = l.slice(6);
          }
          if (id === undefined || data === undefined) continue;
          last = id;
          process.stdout.write(`${line({ id, ...(JSON.parse(data) as Omit<Ev, 'id'>) }, o.output === 'json' ? 'jsonl' : o.output)}\n`);
        }
      }
    } catch (err) {
      if (err instanceof TaskwireError) throw err;
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
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json', 'jsonl']).default('text'))
    .action(async (o: EventsOptions) => {
      const base = masterUrl(o.url);
      if (o.since !== undefined && !/^\d+$/.test(o.since)) throw new TaskwireError('BAD_REQUEST', `--since: expected an event id (a whole number), got "${o.since}"`);
      if (o.follow) await followStream(base, o);
      else await page(base, o);
    });
}
