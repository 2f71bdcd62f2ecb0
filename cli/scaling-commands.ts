/**
 * Run-time placement and autoscaling from the command line (docs/PLACEMENT.md,
 * docs/AUTOSCALING.md), over the audited REST routes:
 *   taskwire placement show
 *   taskwire placement set <scope> <strategy> | unset <scope> | slow-start <ms>
 *   taskwire autoscale show
 *   taskwire autoscale set <pool> [--min N] [--max N] [--target N] [--actuator A] [--service S] [--down-window MS] [--policy JSON]
 *   taskwire autoscale unset <pool>
 * `-o json` prints the REST answer; exit codes as the operator commands (2: HTTP 400).
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { errorMessage } from '../common/errors.js';
import { URL_HELP } from './client-commands.js';
import { CliExit, EXIT, operatorRequest, table } from './operator-commands.js';

interface Common {
  url?: string;
  output?: string;
}

function common(cmd: Command): Command {
  return cmd.option('--url <url>', URL_HELP).addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'));
}

function run<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      process.stderr.write(`taskwire: ${errorMessage(err)}\n`);
      process.exit(err instanceof CliExit ? err.exitCode : err instanceof InvalidArgumentError ? EXIT.usage : EXIT.other);
    }
  };
}

const int = (name: string) => (v: string) => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`${name}: a whole number`);
  return Number(v);
};

const enc = encodeURIComponent;
const show = (o: Common, body: unknown, text: () => string) => process.stdout.write(o.output === 'json' ? `${JSON.stringify(body, null, 2)}\n` : text());
const change = (b: { before: unknown; after: unknown }) => `${JSON.stringify(b.before)} -> ${JSON.stringify(b.after)}\n`;

function placementGroup(program: Command): void {
  const g = program.command('placement').description('which worker gets a task: show, set or unset a strategy per kind / kind:model, slow start');
  common(g.command('show').description('strategies by scope, slow start, known strategies')).action(
    run(async (o: Common) => {
      const body = (await operatorRequest(o.url, 'GET', '/api/v1/placement')) as { strategies: Record<string, string>; slow_start_ms: number; known: string[] };
      show(o, body, () => table(Object.entries(body.strategies).map(([scope, strategy]) => ({ scope, strategy })), ['scope', 'strategy']) + `slow start: ${body.slow_start_ms} ms\nknown: ${body.known.join(', ')}\n`);
    }),
  );
  common(g.command('set <scope> <strategy>').description('scope: default, a kind, or kind:model')).action(
    run(async (scope: string, strategy: string, o: Common) => {
      const body = (await operatorRequest(o.url, 'PUT', `/api/v1/placement/${enc(scope)}`, 30_000, { strategy })) as { before: unknown; after: unknown };
      show(o, body, () => `placement ${scope}: ${change(body)}`);
    }),
  );
  common(g.command('unset <scope>').description('the scope falls back to its kind, then to default')).action(
    run(async (scope: string, o: Common) => {
      const body = (await operatorRequest(o.url, 'DELETE', `/api/v1/placement/${enc(scope)}`)) as { before: unknown; after: unknown };
      show(o, body, () => `placement ${scope}: ${change(body)}`);
    }),
  );
  common(g.command('slow-start <ms>').description('ramp a newly online worker\'s share over this window (0: off)')).action(
    run(async (ms: string, o: Common) => {
      const body = (await operatorRequest(o.url, 'PUT', '/api/v1/placement', 30_000, { slow_start_ms: int('ms')(ms) })) as { slow_start_ms: { before: unknown; after: unknown } };
      show(o, body, () => `slow start: ${change(body.slow_start_ms)}`);
    }),
  );
}

interface SetOptions extends Common {
  min?: number;
  max?: number;
  target?: string;
  actuator?: string;
  service?: string;
  downWindow?: number;
  policy?: string;
}

function autoscaleGroup(program: Command): void {
  const g = program.command('autoscale').description('autoscaling policies per pool: show, set, unset');
  common(g.command('show').description('every pool: policy, load, current and desired workers')).action(
    run(async (o: Common) => {
      const body = (await operatorRequest(o.url, 'GET', '/api/v1/autoscaling')) as { pools: Record<string, unknown>[] };
      const rows = body.pools.map((p) => {
        const pol = p['policy'] as { min_workers: number; max_workers: number };
        return { ...p, range: `${pol.min_workers}..${pol.max_workers}` };
      });
      show(o, body, () => table(rows, ['pool', 'actuator', 'range', 'current', 'desired', 'queued', 'in_flight', 'workers_online', 'reason']));
    }),
  );
  common(
    g
      .command('set <pool>')
      .description('pool: "*", a kind, or kind:model; unnamed fields take their defaults (docs/AUTOSCALING.md)')
      .option('--min <n>', 'min_workers', int('--min'))
      .option('--max <n>', 'max_workers', int('--max'))
      .option('--target <n>', 'target_per_worker: queued + running tasks per worker')
      .addOption(new Option('--actuator <name>', 'who changes the count').choices(['none', 'local', 'swarm']))
      .option('--service <name>', 'the Docker service of a swarm pool')
      .option('--down-window <ms>', 'scale_down_window_ms', int('--down-window'))
      .option('--policy <json>', 'the whole policy as JSON (the flags above override its fields)'),
  ).action(
    run(async (pool: string, o: SetOptions) => {
      let policy: Record<string, unknown> = {};
      if (o.policy !== undefined) {
        try {
          policy = JSON.parse(o.policy) as Record<string, unknown>;
        } catch {
          throw new CliExit(EXIT.usage, '--policy: not valid JSON');
        }
      }
      if (o.min !== undefined) policy.min_workers = o.min;
      if (o.max !== undefined) policy.max_workers = o.max;
      if (o.target !== undefined) policy.target_per_worker = Number(o.target);
      if (o.actuator !== undefined) policy.actuator = o.actuator;
      if (o.service !== undefined) policy.service = o.service;
      if (o.downWindow !== undefined) policy.scale_down_window_ms = o.downWindow;
      const body = (await operatorRequest(o.url, 'PUT', `/api/v1/autoscaling/${enc(pool)}`, 30_000, policy)) as { before: unknown; after: unknown };
      show(o, body, () => `autoscale ${pool}: ${change(body)}`);
    }),
  );
  common(g.command('unset <pool>').description('remove the pool\'s policy (its workers stay as they are)')).action(
    run(async (pool: string, o: Common) => {
      const body = (await operatorRequest(o.url, 'DELETE', `/api/v1/autoscaling/${enc(pool)}`)) as { before: unknown; after: unknown };
      show(o, body, () => `autoscale ${pool}: removed\n`);
    }),
  );
}

/** Registers `placement` and `autoscale`. */
export function scalingCommands(program: Command): void {
  placementGroup(program);
  autoscaleGroup(program);
}
