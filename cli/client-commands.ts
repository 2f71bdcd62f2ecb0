/**
 * CLI commands that talk to a running master over REST. Every one finds the
 * master the same way (masterUrl), names the URL it tried when that fails,
 * and prints JSON with `-o json`.
 */
import { readFile } from 'node:fs/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { TaskwireError, errorMessage } from '../common/errors.js';
import { envInt } from '../common/env.js';
import type { TaskView } from '../common/task-view.js';

export const URL_HELP = 'master HTTP URL [TASKWIRE_URL, else http://127.0.0.1:$TASKWIRE_HTTP_PORT, else http://127.0.0.1:8080]';

/** --url, else TASKWIRE_URL, else http://127.0.0.1:$TASKWIRE_HTTP_PORT, else http://127.0.0.1:8080. */
export function masterUrl(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.TASKWIRE_URL?.trim() || undefined;
  const port = envInt(env, 'TASKWIRE_HTTP_PORT', { min: 1, max: 65535 });
  const url = flag ?? fromEnv ?? `http://127.0.0.1:${port ?? 8080}`;
  try {
    new URL(url);
  } catch {
    throw new InvalidArgumentError(`${flag !== undefined ? '--url' : 'TASKWIRE_URL'}: not a URL: "${url}" (expected http://host:port)`);
  }
  return url.replace(/\/+$/, '');
}

/** `-o json` (and the older `--json`) on every client command. */
export function addOutputOption(cmd: Command): Command {
  return cmd
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('--json', 'same as -o json');
}

export const wantsJson = (o: { output?: string; json?: boolean }): boolean => o.json === true || o.output === 'json';

/** `Authorization: Bearer $TASKWIRE_API_KEY` when the variable is set. */
export function authHeaders(): Record<string, string> {
  const key = process.env.TASKWIRE_API_KEY?.trim();
  return key ? { authorization: `Bearer ${key}` } : {};
}

export async function apiRequest(url: string | undefined, method: string, path: string, body?: unknown): Promise<unknown> {
  const base = masterUrl(url);
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new TaskwireError(
      'UNAVAILABLE',
      `cannot reach the master at ${base} (${cause?.code ?? cause?.message ?? errorMessage(err)}); is it running? Point the CLI at it with --url or TASKWIRE_URL (or TASKWIRE_HTTP_PORT for a local master)`,
    );
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new TaskwireError('UNAVAILABLE', `${method} ${base}${path}: HTTP ${res.status}: ${text.slice(0, 200)}`);
  }
  if (!res.ok) {
    const e = (json as { error?: { message?: string } }).error;
    throw new TaskwireError('BAD_REQUEST', `${method} ${base}${path}: HTTP ${res.status}: ${e?.message ?? text}`);
  }
  return json;
}

export function printTask(t: unknown, json = false): void {
  const task = t as TaskView;
  if (json) {
    process.stdout.write(`${JSON.stringify(task, null, 2)}\n`);
    return;
  }
  process.stdout.write(`${task.id}  ${task.kind}  ${task.status}  attempt ${task.attempt}  worker ${task.worker_id ?? '-'}\n`);
  if (task.result !== null) process.stdout.write(`${typeof task.result === 'string' ? task.result : JSON.stringify(task.result, null, 2)}\n`);
  if (task.error) process.stdout.write(`error: ${task.error.code}: ${task.error.message}\n`);
}

const parseJson = (raw: string): unknown => {
  try {
    return JSON.parse(raw);
  } catch {
    throw new InvalidArgumentError(`not valid JSON: ${raw.slice(0, 80)}`);
  }
};

export function submitCommand(program: Command): void {
  const cmd = program
    .command('submit <kind> [input]')
    .description('submit a task; input is JSON, or use --text / --file')
    .option('--text <text>', 'shorthand for {"text": "..."}')
    .option('--file <path>', 'read the JSON input from a file')
    .option('--priority <0-9>', 'higher runs first (default 0)')
    .option('--idempotency-key <key>', 'return the existing task for a repeated key')
    .option('--no-wait', 'print only the task id (ID=$(taskwire submit ... --no-wait)) and return without waiting')
    .option('--timeout-ms <ms>', 'how long to wait for the result', '600000')
    .option('--url <url>', URL_HELP);
  addOutputOption(cmd)
    .action(async (kind: string, inputArg: string | undefined, o: { text?: string; file?: string; priority?: string; idempotencyKey?: string; wait: boolean; timeoutMs: string; url?: string; json?: boolean; output?: string }) => {
      let input: unknown = inputArg !== undefined ? parseJson(inputArg) : {};
      if (o.text !== undefined) input = { text: o.text };
      if (o.file !== undefined) input = parseJson(await readFile(o.file, 'utf8'));
      const body: Record<string, unknown> = { kind, input };
      if (o.priority !== undefined) {
        const p = Number(o.priority);
        if (!Number.isInteger(p) || p < 0 || p > 9) throw new InvalidArgumentError('--priority must be an integer from 0 to 9');
        body.priority = p;
      }
      if (o.idempotencyKey) body.idempotency_key = o.idempotencyKey;
      let task = (await apiRequest(o.url, 'POST', '/api/v1/tasks', body)) as TaskView;
      if (o.wait) {
        const until = Date.now() + Number(o.timeoutMs);
        while (!['succeeded', 'failed', 'cancelled', 'expired'].includes(task.status)) {
          if (Date.now() > until) throw new TaskwireError('UNAVAILABLE', `task ${task.id} still ${task.status} after ${o.timeoutMs} ms`);
          await new Promise((r) => setTimeout(r, 100));
          task = (await apiRequest(o.url, 'GET', `/api/v1/tasks/${task.id}`)) as TaskView;
        }
      }
      if (!o.wait && !wantsJson(o)) process.stdout.write(`${task.id}\n`);
      else printTask(task, wantsJson(o));
      if (task.status === 'failed' || task.status === 'expired') process.exitCode = 1;
    });
}

/** Tasks per batch request (the master's limit). */
const BATCH_SIZE = 1000;

async function readInput(file: string): Promise<string> {
  if (file !== '-') return readFile(file, 'utf8');
  const parts: Buffer[] = [];
  for await (const chunk of process.stdin) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

/** `{kind, input, ...}` per line; blank lines are skipped; an error names the line. */
export function parseTaskLines(text: string): { line: number; body: Record<string, unknown> }[] {
  const out: { line: number; body: Record<string, unknown> }[] = [];
  text.split('\n').forEach((raw, i) => {
    const l = raw.trim();
    if (!l) return;
    let v: unknown;
    try {
      v = JSON.parse(l);
    } catch {
      throw new InvalidArgumentError(`line ${i + 1}: not valid JSON: ${l.slice(0, 80)}`);
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new InvalidArgumentError(`line ${i + 1}: expected a JSON object like {"kind": "echo", "input": {...}}`);
    out.push({ line: i + 1, body: v as Record<string, unknown> });
  });
  return out;
}

export function submitBatchCommand(program: Command): void {
  program
    .command('submit-batch <file>')
    .description(`submit the tasks of a JSON Lines file (one {kind, input, priority?, idempotency_key?, ...} per line; - reads stdin), ${BATCH_SIZE} per request, each request all or nothing`)
    .option('--url <url>', URL_HELP)
    .addOption(new Option('-o, --output <format>', 'output format (json: one task per line)').choices(['text', 'json']).default('text'))
    .option('--json', 'same as -o json')
    .action(async (file: string, o: { url?: string; json?: boolean; output?: string }) => {
      const items = parseTaskLines(await readInput(file));
      if (items.length === 0) throw new InvalidArgumentError(`${file}: no tasks`);
      let submitted = 0;
      for (let i = 0; i < items.length; i += BATCH_SIZE) {
        const chunk = items.slice(i, i + BATCH_SIZE);
        let res: { tasks: TaskView[]; created: boolean[] };
        try {
          res = (await apiRequest(o.url, 'POST', '/api/v1/tasks/batch', { tasks: chunk.map((c) => c.body) })) as typeof res;
        } catch (err) {
          // Name the file's line rather than the request's index.
          const msg = (err as Error).message.replace(/tasks\.(\d+)/, (_m, k: string) => `line ${chunk[Number(k)]?.line ?? '?'}`);
          const done = submitted > 0 ? `; the ${submitted} tasks before line ${chunk[0]!.line} were submitted` : '; nothing was submitted';
          throw new TaskwireError('BAD_REQUEST', `${msg}${done}`);
        }
        res.tasks.forEach((t, k) => {
          process.stdout.write(wantsJson(o) ? `${JSON.stringify(t)}\n` : `${t.id}  ${t.kind}  ${t.status}${res.created[k] ? '' : '  (existing: same idempotency key)'}\n`);
        });
        submitted += chunk.length;
      }
    });
}

export function getCancelWorkersCommands(program: Command): void {
  addOutputOption(program.command('get <id>').description('show a task').option('--url <url>', URL_HELP)).action(
    async (id: string, o: { url?: string; json?: boolean; output?: string }) => printTask(await apiRequest(o.url, 'GET', `/api/v1/tasks/${encodeURIComponent(id)}`), wantsJson(o)),
  );
  addOutputOption(program.command('cancel <id>').description('cancel a queued or running task').option('--url <url>', URL_HELP)).action(
    async (id: string, o: { url?: string; json?: boolean; output?: string }) =>
      printTask(await apiRequest(o.url, 'POST', `/api/v1/tasks/${encodeURIComponent(id)}/cancel`), wantsJson(o)),
  );
  addOutputOption(program.command('workers').description('list workers').option('--url <url>', URL_HELP)).action(async (o: { url?: string; json?: boolean; output?: string }) => {
    const body = (await apiRequest(o.url, 'GET', '/api/v1/workers')) as { workers: { id: string; state: string; language: string; kinds: string[]; running: number; capacity: number }[] };
    if (wantsJson(o)) return void process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    for (const w of body.workers) {
      process.stdout.write(`${w.id.padEnd(40)} ${w.state.padEnd(9)} ${w.language.padEnd(11)} ${String(w.running).padStart(3)}/${w.capacity}  ${w.kinds.join(',')}\n`);
    }
  });
}
