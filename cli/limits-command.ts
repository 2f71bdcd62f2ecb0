/**
 * `taskwire limits show | set <file|-> | reset [-o text|json]`: the limits in
 * force (GET/PUT/DELETE /api/v1/admin/limits; an admin key in TASKWIRE_API_KEY
 * when the master has keys). `set` reads the rules as JSON ({rules: [...]} or
 * a bare array) from a file or stdin. Exit codes as every operator command:
 * 2 usage / HTTP 400.
 */
import { readFile } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import { errorMessage } from '../common/errors.js';
import { URL_HELP } from './client-commands.js';
import { CliExit, EXIT, operatorRequest } from './operator-commands.js';

interface LimitsOptions {
  url?: string;
  output: 'text' | 'json';
}

interface Limits {
  source: string;
  rules: Record<string, unknown>[];
}

function print(l: Limits, output: LimitsOptions['output']): void {
  if (output === 'json') return void process.stdout.write(`${JSON.stringify(l, null, 2)}\n`);
  process.stdout.write(`limits from ${l.source === 'admin' ? 'an admin (PUT /api/v1/admin/limits)' : 'TASKWIRE_RATE_LIMITS'}: ${l.rules.length} rule(s)\n`);
  for (const r of l.rules) {
    const { scope, id, model, ...rest } = r;
    const who = `${String(scope)} ${id === undefined ? '(each)' : String(id)}${model === undefined ? '' : ` model ${String(model)}`}`;
    process.stdout.write(`  ${who}: ${Object.entries(rest).map(([k, v]) => `${k}=${String(v)}`).join(' ')}\n`);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const run = (fn: () => Promise<void>) => async () => {
  try {
    await fn();
  } catch (err) {
    process.stderr.write(`taskwire: ${errorMessage(err)}\n`);
    process.exit(err instanceof CliExit ? err.exitCode : EXIT.other);
  }
};

export function limitsCommand(program: Command): void {
  const limits = program.command('limits').description('rate limits and quotas per key and tenant (admin)');
  const common = (c: Command) => c.option('--url <url>', URL_HELP).addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'));
  common(limits.command('show').description('the limits in force')).action(function (this: Command) {
    const o = this.opts<LimitsOptions>();
    return run(async () => print((await operatorRequest(o.url, 'GET', '/api/v1/admin/limits')) as Limits, o.output))();
  });
  common(limits.command('set <file>').description('replace the limits with the JSON in <file> (- for stdin)')).action(function (this: Command, file: string) {
    const o = this.opts<LimitsOptions>();
    return run(async () => {
      const text = file === '-' ? await readStdin() : await readFile(file, 'utf8').catch((err: unknown) => {
        throw new CliExit(EXIT.usage, `cannot read ${file}: ${errorMessage(err)}`);
      });
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (err) {
        throw new CliExit(EXIT.usage, `${file}: not valid JSON (${errorMessage(err)})`);
      }
      print((await operatorRequest(o.url, 'PUT', '/api/v1/admin/limits', 30_000, Array.isArray(body) ? { rules: body } : body)) as Limits, o.output);
    })();
  });
  common(limits.command('reset').description('back to TASKWIRE_RATE_LIMITS')).action(function (this: Command) {
    const o = this.opts<LimitsOptions>();
    return run(async () => print((await operatorRequest(o.url, 'DELETE', '/api/v1/admin/limits')) as Limits, o.output))();
  });
}
