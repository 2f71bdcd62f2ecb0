/**
 * `taskwire usage prices show | set <file|->` and `taskwire usage budgets
 * show | set <file|->` (GET/PUT /api/v1/admin/prices and /admin/budgets; a
 * cluster admin's key in TASKWIRE_API_KEY when the master has keys). `set`
 * reads the JSON body (docs/BILLING.md) from a file or stdin: a price PUT
 * appends a version, a budgets PUT replaces them. `budgets --tenant T`: that
 * tenant's own budgets, which its admin sets within the cluster admin's caps
 * (/api/v1/admin/tenants/T/budgets). Exit codes as every operator command:
 * 2 usage / HTTP 400, 3 not found.
 */
import { readFile } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import { errorMessage } from '../common/errors.js';
import { URL_HELP } from './client-commands.js';
import { CliExit, EXIT, operatorRequest } from './operator-commands.js';

interface Options {
  url?: string;
  output: 'text' | 'json';
  tenant?: string;
}

type Entry = Record<string, unknown>;
interface PricesView {
  versions: { version: number; effective_from_ms: number; currency: string; prices: Entry[] }[];
  in_force: number | null;
}
interface BudgetsView {
  budgets: Entry[];
  /** With --tenant: whose budgets, and the cluster admin's budgets that cap them. */
  tenant?: string;
  caps?: Entry[];
}

/** Most a body file may hold (the master's own body limit is larger; a price table is small). */
const MAX_BODY_BYTES = 1 << 20;

const fields = (e: Entry, skip: readonly string[]) =>
  Object.entries(e)
    .filter(([k]) => !skip.includes(k))
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');

function printPrices(p: PricesView): void {
  const v = p.versions.find((x) => x.version === p.in_force);
  if (!v) return void process.stdout.write(`no price in force (${p.versions.length} version(s)): every usage row costs 0\n`);
  process.stdout.write(`prices version ${v.version} of ${p.versions.length}, in force since ${new Date(v.effective_from_ms).toISOString()}, in ${v.currency}\n`);
  for (const e of v.prices) process.stdout.write(`  ${String(e['kind'])}${e['model'] === undefined ? '' : ` model ${String(e['model'])}`}: ${fields(e, ['kind', 'model'])}\n`);
}

function printBudgets(b: BudgetsView): void {
  const list = (es: readonly Entry[]) => {
    for (const e of es) process.stdout.write(`  ${String(e['scope'])} ${e['id'] === undefined ? '(each)' : String(e['id'])} per ${String(e['period'])}: ${fields(e, ['scope', 'id', 'period'])}\n`);
  };
  process.stdout.write(b.tenant === undefined ? `${b.budgets.length} budget(s)\n` : `budgets of tenant ${b.tenant} set by its admin: ${b.budgets.length} budget(s)\n`);
  list(b.budgets);
  if (b.tenant === undefined) return;
  process.stdout.write(`caps set by the cluster admin: ${b.caps?.length ?? 0} budget(s)\n`);
  list(b.caps ?? []);
}

const budgetsPath = (o: Options) => (o.tenant === undefined ? '/api/v1/admin/budgets' : `/api/v1/admin/tenants/${encodeURIComponent(o.tenant)}/budgets`);
const tenantOption = (c: Command) => c.option('--tenant <id>', "a tenant's own budgets (its admin's key, or a cluster admin's)");

async function readBody(file: string): Promise<unknown> {
  let text: string;
  if (file === '-') {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of process.stdin) {
      size += (c as Buffer).length;
      if (size > MAX_BODY_BYTES) throw new CliExit(EXIT.usage, `stdin: more than ${MAX_BODY_BYTES} bytes`);
      chunks.push(c as Buffer);
    }
    text = Buffer.concat(chunks).toString('utf8');
  } else {
    text = await readFile(file, 'utf8').catch((err: unknown) => {
      throw new CliExit(EXIT.usage, `cannot read ${file}: ${errorMessage(err)}`);
    });
    if (Buffer.byteLength(text) > MAX_BODY_BYTES) throw new CliExit(EXIT.usage, `${file}: more than ${MAX_BODY_BYTES} bytes`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new CliExit(EXIT.usage, `${file === '-' ? 'stdin' : file}: not valid JSON (${errorMessage(err)})`);
  }
}

const run = (fn: () => Promise<void>) => async () => {
  try {
    await fn();
  } catch (err) {
    process.stderr.write(`taskwire: ${errorMessage(err)}\n`);
    process.exit(err instanceof CliExit ? err.exitCode : EXIT.other);
  }
};

/** Adds `prices` and `budgets` under `taskwire usage`. */
export function billingSettingsCommands(usage: Command): void {
  const common = (c: Command) => c.option('--url <url>', URL_HELP).addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'));
  const out = (o: Options, v: unknown, text: () => void) => (o.output === 'json' ? void process.stdout.write(`${JSON.stringify(v, null, 2)}\n`) : text());

  const prices = usage.command('prices').description('the versioned price table (cluster admin)');
  common(prices.command('show').description('the prices in force')).action(function (this: Command) {
    const o = this.opts<Options>();
    return run(async () => {
      const p = (await operatorRequest(o.url, 'GET', '/api/v1/admin/prices')) as PricesView;
      out(o, p, () => printPrices(p));
    })();
  });
  common(prices.command('set <file>').description('append a price version from the JSON in <file> (- for stdin)')).action(function (this: Command, file: string) {
    const o = this.opts<Options>();
    return run(async () => {
      const v = (await operatorRequest(o.url, 'PUT', '/api/v1/admin/prices', 30_000, await readBody(file))) as PricesView['versions'][number];
      out(o, v, () => process.stdout.write(`prices version ${v.version} in force from ${new Date(v.effective_from_ms).toISOString()} (${v.prices.length} entr${v.prices.length === 1 ? 'y' : 'ies'}, ${v.currency})\n`));
    })();
  });

  const budgets = usage.command('budgets').description("budgets per tenant and key (cluster admin; a tenant's admin: --tenant)");
  common(tenantOption(budgets.command('show')).description('the budgets in force')).action(function (this: Command) {
    const o = this.opts<Options>();
    return run(async () => {
      const b = (await operatorRequest(o.url, 'GET', budgetsPath(o))) as BudgetsView;
      out(o, b, () => printBudgets(b));
    })();
  });
  common(tenantOption(budgets.command('set <file>')).description('replace the budgets with the JSON in <file> (- for stdin)')).action(function (this: Command, file: string) {
    const o = this.opts<Options>();
    return run(async () => {
      const b = (await operatorRequest(o.url, 'PUT', budgetsPath(o), 30_000, await readBody(file))) as BudgetsView;
      out(o, b, () => printBudgets(b));
    })();
  });
}
