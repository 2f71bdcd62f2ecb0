/**
 * `taskwire limits show | set <file|-> | reset [-o text|json]`: the limits in
 * force (GET/PUT/DELETE /api/v1/admin/limits; an admin key in TASKWIRE_API_KEY
 * when the master has keys). `set` reads the rules as JSON ({rules: [...]} or
 * a bare array) from a file or stdin. With `--tenant T`: that tenant's own
 * rules, which its admin sets within the cluster admin's caps
 * (/api/v1/admin/tenants/T/limits; `reset` removes them). Exit codes as every
 * operator command: 2 usage / HTTP 400, 3 not found.
 */
import { readFile } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import { errorMessage } from '../common/errors.js';
import { URL_HELP } from './client-commands.js';
import { CliExit, EXIT, operatorRequest } from './operator-commands.js';

interface LimitsOptions {
  url?: string;
  output: 'text' | 'json';
  tenant?: string;
}

interface Limits {
  source?: string;
  /** With --tenant: whose rules, and the cluster admin's rules that cap them. */
  tenant?: string;
  caps?: Record<string, unknown>[];
  rules: Record<string, unknown>[];
}

const printRules = (rules: readonly Record<string, unknown>[]) => {
  for (const r of rules) {
    const { scope, id, model, ...rest } = r;
    const who = `${String(scope)} ${id === undefined ? '(each)' : String(id)}${model === undefined ? '' : ` model ${String(model)}`}`;
    process.stdout.write(`  ${who}: ${Object.entries(rest).map(([k, v]) => `${k}=${String(v)}`).join(' ')}\n`);
  }
};

function print(l: Limits, output: LimitsOptions['output']): void {
  if (output === 'json') return void process.stdout.write(`${JSON.stringify(l, null, 2)}\n`);
  if (l.tenant !== undefined) {
    process.stdout.write(`limits of tenant ${l.tenant} set by its admin: ${l.rules.length} rule(s)\n`);
    printRules(l.rules);
    process.stdout.write(`caps set by the cluster admin: ${l.caps?.length ?? 0} rule(s)\n`);
    return printRules(l.caps ?? []);
  }
  process.stdout.write(`limits from ${l.source === 'admin' ? 'an admin (PUT /api/v1/admin/limits)' : 'TASKWIRE_RATE_LIMITS'}: ${l.rules.length} rule(s)\n`);
  printRules(l.rules);
}

/** The route: the cluster-wide rules, or one tenant's own. */
const path = (o: LimitsOptions) => (o.tenant === undefined ? '/api/v1/admin/limits' : `/api/v1/admin/tenants/${encodeURIComponent(o.tenant)}/limits`);

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
  const common = (c: Command) => c.option('--url <url>', URL_HELP).option('--tenant <id>', "a tenant's own rules (its admin's key, or a cluster admin's)").addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'));
  common(limits.command('show').description('the limits in force')).action(function (this: Command) {
    const o = this.opts<LimitsOptions>();
    return run(async () => print((await operatorRequest(o.url, 'GET', path(o))) as Limits, o.output))();
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
      print((await operatorRequest(o.url, 'PUT', path(o), 30_000, Array.isArray(body) ? { rules: body } : body)) as Limits, o.output);
    })();
  });
  common(limits.command('reset').description("back to TASKWIRE_RATE_LIMITS (with --tenant: remove the tenant's own rules)")).action(function (this: Command) {
    const o = this.opts<LimitsOptions>();
    return run(async () => print((await operatorRequest(o.url, 'DELETE', path(o))) as Limits, o.output))();
  });
}
