/**
 * `taskwire usage report [--tenant T] [--period day|month] [--at 2026-12[-02]]
 * [-o text|json|csv]`: the usage report of a period (GET /api/v1/usage),
 * per tenant, key, kind and model, with totals; csv is the API's export as is.
 * Exit codes as every operator command: 2 usage / HTTP 400, 3 not found.
 * `taskwire usage prices|budgets show|set`: billing-commands.ts.
 */
import { type Command, Option } from 'commander';
import { errorMessage } from '../common/errors.js';
import { URL_HELP, authHeaders, masterUrl } from './client-commands.js';
import { billingSettingsCommands } from './billing-commands.js';
import { CliExit, EXIT, operatorRequest } from './operator-commands.js';

interface UsageOptions {
  url?: string;
  tenant?: string;
  period: 'day' | 'month';
  at?: string;
  output: 'text' | 'json' | 'csv';
}

interface Totals {
  attempts: number;
  tokens_in: number;
  tokens_out: number;
  processing_ms: number;
  cpu_us: number;
  mem_mib_ms: number;
  megapixels: number;
  cost: number;
}

interface Report {
  label: string;
  currency: string;
  totals: Totals;
  lines: (Totals & { tenant: string; key: string; kind: string; model: string | null })[];
}

function table(r: Report): string {
  const rows = [['TENANT', 'KEY', 'KIND', 'MODEL', 'ATTEMPTS', 'TOKENS IN', 'TOKENS OUT', 'SECONDS', 'CPU SECONDS', 'GIB-SECONDS', 'MEGAPIXELS', `COST (${r.currency})`]];
  const nums = (t: Totals) => [String(t.attempts), String(t.tokens_in), String(t.tokens_out), (t.processing_ms / 1000).toFixed(1), (t.cpu_us / 1e6).toFixed(3), (t.mem_mib_ms / 1024 / 1000).toFixed(3), t.megapixels.toFixed(2), t.cost.toFixed(4)];
  for (const l of r.lines) rows.push([l.tenant, l.key, l.kind, l.model ?? '-', ...nums(l)]);
  rows.push(['total', '', '', '', ...nums(r.totals)]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return `usage ${r.label}\n${rows.map((row) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n')}\n`;
}

export function usageCommand(program: Command): void {
  const usage = program.command('usage').description('usage and billing');
  usage
    .command('report')
    .description('usage of a day or month per tenant, key, kind and model (GET /api/v1/usage)')
    .option('--url <url>', URL_HELP)
    .option('--tenant <tenant>', 'one tenant (default: yours; operators: all)')
    .addOption(new Option('--period <period>', 'day or month').choices(['day', 'month']).default('month'))
    .option('--at <date>', 'which one: YYYY-MM (month) or YYYY-MM-DD (day); default the current one')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json', 'csv']).default('text'))
    .action(async (o: UsageOptions) => {
      try {
        const q = new URLSearchParams({ period: o.period });
        if (o.tenant) q.set('tenant', o.tenant);
        if (o.at) q.set('at', o.at);
        if (o.output === 'csv') {
          q.set('format', 'csv');
          const base = masterUrl(o.url);
          const res = await fetch(`${base}/api/v1/usage?${q}`, { headers: authHeaders(), signal: AbortSignal.timeout(30_000) }).catch((err: unknown) => {
            throw new CliExit(EXIT.other, `cannot reach the master at ${base} (${errorMessage(err)})`);
          });
          const text = await res.text();
          if (!res.ok) throw new CliExit(res.status === 400 ? EXIT.usage : EXIT.other, `GET ${base}/api/v1/usage: HTTP ${res.status}: ${text.slice(0, 300)}`);
          process.stdout.write(text);
          return;
        }
        const report = (await operatorRequest(o.url, 'GET', `/api/v1/usage?${q}`)) as Report;
        process.stdout.write(o.output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : table(report));
      } catch (err) {
        process.stderr.write(`taskwire: ${errorMessage(err)}\n`);
        process.exit(err instanceof CliExit ? err.exitCode : EXIT.other);
      }
    });
  billingSettingsCommands(usage);
}
