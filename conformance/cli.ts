#!/usr/bin/env node
/**
 * `npm run conformance -- --worker-cmd "<command that starts a worker>"`
 *
 * Starts a master in process (embedded broker on 127.0.0.1, port 0), runs the
 * worker command with TASKWIRE_MQTT_URL, TASKWIRE_CLUSTER_TOKEN,
 * TASKWIRE_WORKER_ID, TASKWIRE_GRPC_URL and TASKWIRE_WORKER_CAPACITY set, and
 * drives it through protocol v1. One `PASS`/`FAIL <check>: <detail>` line per
 * check, then `N passed, N failed`. Exit code 0 when every check passed,
 * 1 when one failed, 2 on a usage error.
 */
import { Command } from 'commander';
import { z } from 'zod';
import { CHECK_NAMES, runSuite } from './suite.js';

const ENV_PAIR = /^[A-Za-z_][A-Za-z0-9_]*=.*$/s;

const argsSchema = z
  .object({
    workerCmd: z.string().trim().min(1, '--worker-cmd is required'),
    capacity: z.coerce.number().int().min(1).max(64),
    timeScale: z.coerce.number().min(0.5).max(20),
    only: z
      .string()
      .optional()
      .transform((s) => s?.split(',').map((c) => c.trim()).filter(Boolean))
      .refine((list) => !list || list.every((c) => CHECK_NAMES.includes(c)), { message: `--only takes check names: ${CHECK_NAMES.join(', ')}` }),
    env: z.array(z.string().regex(ENV_PAIR, '--env takes KEY=VALUE')),
    verbose: z.boolean(),
  })
  .strict();

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

async function main(argv: string[]): Promise<number> {
  const program = new Command('conformance')
    .description('drive a taskwire worker implementation through protocol v1 and report a PASS/FAIL line per check')
    .option('--worker-cmd <command>', 'shell command that starts one worker (it gets TASKWIRE_* variables)', '')
    .option('--capacity <n>', 'TASKWIRE_WORKER_CAPACITY given to the worker', '4')
    .option('--time-scale <x>', 'multiply every wait (slow machines or runtimes)', '1')
    .option('--only <checks>', 'comma list of checks to run (registration always runs)')
    .option('--env <KEY=VALUE>', 'extra environment for the worker (repeatable)', collect, [] as string[])
    .option('--verbose', "show the worker's and the master's output", false)
    .option('--list', 'list the checks and exit')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  try {
    program.parse(argv);
  } catch (err) {
    const code = (err as { exitCode?: number }).exitCode;
    return code === 0 ? 0 : 2;
  }
  const raw = program.opts<Record<string, unknown>>();
  if (raw['list']) {
    process.stdout.write(`${CHECK_NAMES.join('\n')}\n`);
    return 0;
  }
  delete raw['list'];
  const parsed = argsSchema.safeParse(raw);
  if (!parsed.success) {
    process.stderr.write(`conformance: ${parsed.error.issues.map((i) => i.message).join('; ')}\n`);
    return 2;
  }
  const a = parsed.data;
  const extraEnv = Object.fromEntries(a.env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  process.stdout.write(`conformance: worker command: ${a.workerCmd}\n`);
  const outcome = await runSuite(
    {
      workerCmd: a.workerCmd,
      capacity: a.capacity,
      timeScale: a.timeScale,
      verbose: a.verbose,
      extraEnv,
      only: a.only,
      heartbeatIntervalMs: 1000,
      heartbeatTimeoutMs: 3000,
    },
    (line) => process.stdout.write(`${line}\n`),
  );
  process.stdout.write(`conformance (${outcome.language || 'unknown language'}): ${outcome.passed} passed, ${outcome.failed} failed\n`);
  return outcome.failed === 0 && outcome.passed > 0 ? 0 : 1;
}

main(process.argv).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`conformance: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
