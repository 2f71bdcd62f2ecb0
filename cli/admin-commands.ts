/**
 * Admin commands (docs/SECURITY.md): tenants, users and API keys of a running
 * master, with an admin key in TASKWIRE_API_KEY.
 *   taskwire admin tenants create <id> [--name N] | list
 *   taskwire admin users create <id> [--tenant T] [--name N] | list [--tenant T]
 *   taskwire admin keys create [--tenant T] [--user U] [--name N] [--scopes submit,read] [--kinds a,b] [--models m] | list [--tenant T]
 *   taskwire admin keys rotate <key-id> | revoke <key-id>
 * `create` and `rotate` print the new secret once (stdout, last line in table
 * form). `-o json` prints the REST answer. Exit codes as the operator commands.
 */
import { Command, Option } from 'commander';
import { errorMessage } from '../common/errors.js';
import { URL_HELP } from './client-commands.js';
import { CliExit, EXIT, operatorRequest, table } from './operator-commands.js';

interface Common {
  url?: string;
  output?: string;
  json?: boolean;
}

const asJson = (o: Common): boolean => o.json === true || o.output === 'json';
const list = (s: string | undefined): string[] | undefined => (s === undefined ? undefined : s.split(',').map((x) => x.trim()).filter(Boolean));
const enc = encodeURIComponent;

function common(cmd: Command): Command {
  return cmd
    .option('--url <url>', URL_HELP)
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'text', 'json']))
    .option('--json', 'same as -o json');
}

function run<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      process.stderr.write(`taskwire: ${errorMessage(err)}\n`);
      process.exit(err instanceof CliExit ? err.exitCode : EXIT.other);
    }
  };
}

function print(o: Common, body: unknown, rows: Record<string, unknown>[], columns: string[]): void {
  process.stdout.write(asJson(o) ? `${JSON.stringify(body, null, 2)}\n` : table(rows, columns));
}

const KEY_COLUMNS = ['id', 'tenant', 'user', 'name', 'scopes', 'kinds', 'models', 'prefix', 'status', 'created_at'];

/** A key just created or rotated: its row, then the secret (shown once). */
function printSecret(o: Common, body: { key: Record<string, unknown>; secret: string; admin_key?: { id: string; secret: string } }): void {
  if (asJson(o)) {
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    return;
  }
  process.stdout.write(table([body.key], KEY_COLUMNS));
  if (body.admin_key) process.stdout.write(`bootstrap admin key ${body.admin_key.id} (shown once): ${body.admin_key.secret}\n`);
  process.stdout.write(`secret (shown once, keep it now): ${body.secret}\n`);
}

export function adminCommands(program: Command): void {
  const admin = program.command('admin').description('tenants, users and API keys (needs an admin key in TASKWIRE_API_KEY)');

  const tenants = admin.command('tenants').description('tenants');
  common(tenants.command('create <id>').description('create a tenant').option('--name <name>', 'display name')).action(
    run(async (id: string, o: Common & { name?: string }) => {
      const body = (await operatorRequest(o.url, 'POST', '/api/v1/admin/tenants', 30_000, { id, ...(o.name && { name: o.name }) })) as { tenant: Record<string, unknown> };
      print(o, body, [body.tenant], ['id', 'name', 'keys', 'created_at']);
    }),
  );
  common(tenants.command('list').description('list tenants')).action(
    run(async (o: Common) => {
      const body = (await operatorRequest(o.url, 'GET', '/api/v1/admin/tenants')) as { tenants: Record<string, unknown>[] };
      print(o, body, body.tenants, ['id', 'name', 'keys', 'created_at']);
    }),
  );

  const users = admin.command('users').description('users (optional: a key may name one)');
  common(users.command('create <id>').description('create a user').option('--tenant <tenant>', 'tenant (default: default)').option('--name <name>', 'display name')).action(
    run(async (id: string, o: Common & { tenant?: string; name?: string }) => {
      const body = (await operatorRequest(o.url, 'POST', '/api/v1/admin/users', 30_000, { id, ...(o.tenant && { tenant: o.tenant }), ...(o.name && { name: o.name }) })) as { user: Record<string, unknown> };
      print(o, body, [body.user], ['tenant', 'id', 'name', 'created_at']);
    }),
  );
  common(users.command('list').description('list users').option('--tenant <tenant>', 'only this tenant')).action(
    run(async (o: Common & { tenant?: string }) => {
      const body = (await operatorRequest(o.url, 'GET', `/api/v1/admin/users${o.tenant ? `?tenant=${enc(o.tenant)}` : ''}`)) as { users: Record<string, unknown>[] };
      print(o, body, body.users, ['tenant', 'id', 'name', 'created_at']);
    }),
  );

  const keys = admin.command('keys').description('API keys (secrets shown once, stored hashed)');
  common(
    keys
      .command('create')
      .description('create a key; prints its secret once')
      .option('--tenant <tenant>', 'tenant (default: default)')
      .option('--user <user>', 'user of the tenant the key belongs to')
      .option('--name <name>', 'label')
      .option('--scopes <list>', 'comma list of submit, read, operate, admin (default: submit,read)')
      .option('--kinds <list>', 'only these task kinds')
      .option('--models <list>', 'only these models'),
  ).action(
    run(async (o: Common & { tenant?: string; user?: string; name?: string; scopes?: string; kinds?: string; models?: string }) => {
      const req = {
        ...(o.tenant && { tenant: o.tenant }), ...(o.user && { user: o.user }), ...(o.name && { name: o.name }),
        ...(o.scopes && { scopes: list(o.scopes) }), ...(o.kinds && { kinds: list(o.kinds) }), ...(o.models && { models: list(o.models) }),
      };
      printSecret(o, (await operatorRequest(o.url, 'POST', '/api/v1/admin/keys', 30_000, req)) as Parameters<typeof printSecret>[1]);
    }),
  );
  common(keys.command('list').description('list keys (never their secrets)').option('--tenant <tenant>', 'only this tenant')).action(
    run(async (o: Common & { tenant?: string }) => {
      const body = (await operatorRequest(o.url, 'GET', `/api/v1/admin/keys${o.tenant ? `?tenant=${enc(o.tenant)}` : ''}`)) as { keys: Record<string, unknown>[] };
      print(o, body, body.keys, KEY_COLUMNS);
    }),
  );
  common(keys.command('rotate <id>').description('a new secret for the key; the old one stops working now')).action(
    run(async (id: string, o: Common) => printSecret(o, (await operatorRequest(o.url, 'POST', `/api/v1/admin/keys/${enc(id)}/rotate`, 30_000, {})) as Parameters<typeof printSecret>[1])),
  );
  common(keys.command('revoke <id>').description('revoke the key on every surface at once')).action(
    run(async (id: string, o: Common) => {
      const body = (await operatorRequest(o.url, 'POST', `/api/v1/admin/keys/${enc(id)}/revoke`, 30_000, {})) as { key: Record<string, unknown> };
      print(o, body, [body.key], KEY_COLUMNS);
    }),
  );
}
