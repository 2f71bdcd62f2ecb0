/**
 * `taskwire store migrate --from <data dir | sqlite file> --to <postgres url>
 * [--blobs-only] [--force] [-o text|json]`: copies a master's SQLite store into PostgreSQL
 * (master/store/store-migrate.ts); with --blobs-only, only the blobs of the
 * data dir of a master already on PostgreSQL (master/blobs/blob-files-migrate.ts),
 * before it goes to multi mode. --to defaults to TASKWIRE_STORE or the
 * file in TASKWIRE_STORE_FILE (the URL holds a password: a file keeps it out
 * of the process list); a password apart from the URL in
 * TASKWIRE_STORE_PASSWORD[_FILE], as the master reads it. Exit 2 for a bad flag, 1 for anything else
 * (a refused target included). Prints counts, never a secret.
 */
import { type Command, Option } from 'commander';
import { envSecret } from '../common/env.js';
import { errorMessage } from '../common/errors.js';
import type { BlobCopyCounts } from '../master/blobs/blob-files-migrate.js';
import { storeUrlWithPassword } from '../master/store/postgres-url.js';
import { CliExit, EXIT } from './operator-commands.js';

interface MigrateFlags {
  from: string;
  to?: string;
  force?: boolean;
  blobsOnly?: boolean;
  output: 'text' | 'json';
}

export function storeCommand(program: Command): void {
  const store = program.command('store').description("the master's task store (SQLite in the data dir, or PostgreSQL)");
  store
    .command('migrate')
    .description('copy a SQLite store (tasks, idempotency keys, cluster secrets; keys, usage, events, limit counters, blobs, image batches) into a PostgreSQL database; stop the SQLite master first')
    .requiredOption('--from <path>', "the SQLite master's data dir (or its taskwire.db)")
    .option('--to <url>', 'postgres:// URL of an existing database [TASKWIRE_STORE, TASKWIRE_STORE_FILE; password: TASKWIRE_STORE_PASSWORD_FILE]')
    .option('--blobs-only', "only the data dir's blobs, for a master already on PostgreSQL that goes to TASKWIRE_MASTERS=multi (its tasks, rooms and batches are in the database; stop it first)")
    .option('--force', "copy into a database that holds another cluster's data (same ids are overwritten); with --blobs-only, one that holds no cluster")
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (o: MigrateFlags) => {
      try {
        const to = storeUrlWithPassword(o.to ?? (await envSecret(process.env, 'TASKWIRE_STORE')), await envSecret(process.env, 'TASKWIRE_STORE_PASSWORD'));
        if (!to) throw new CliExit(EXIT.usage, '--to <postgres url> is required (or TASKWIRE_STORE / TASKWIRE_STORE_FILE)');
        if (!/^postgres(ql)?:\/\//i.test(to)) throw new CliExit(EXIT.usage, '--to must be a postgres:// or postgresql:// URL');
        if (o.blobsOnly) return void (await blobsOnly(o, to));
        const { migrateStore } = await import('../master/store/store-migrate.js');
        const { copyRoomTables, prepareRoomTables } = await import('../master/postgres-rooms-migrate.js');
        const r = await migrateStore({ from: o.from, to, force: o.force, rooms: { prepare: prepareRoomTables, copy: (c, from) => copyRoomTables(c, from) } });
        if (o.output === 'json') return void process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        const b = r.rooms;
        process.stdout.write(
          `copied ${r.tasks} task(s) from ${r.source} to ${r.target}: ${r.unfinished} unfinished, ${r.finished} finished, ${r.withIdempotencyKey} with an idempotency key\n` +
            `meta: ${r.metaKeys.length ? r.metaKeys.join(', ') : 'none'}${r.repeated ? ' (the target already held this cluster: brought up to date)' : ''}\n` +
            `target held ${r.targetTasksBefore} task(s) before\n` + // the other rooms' counts: -o json (rooms)
            // The blobs' line only when the data dir has some (their bytes are what a repeated run skips).
            (b?.blobs ? blobsLine(b) : '') +
            // The batches' line only when the data dir has some (a repeated run keeps those already there).
            (b?.batches ? `batches: ${b.batches} (${b.batches_copied ?? 0} new on the target), ${b.batch_items ?? 0} image(s)\n` : ''),
        );
      } catch (err) {
        process.stderr.write(`taskwire: ${errorMessage(err)}\n`);
        process.exit(err instanceof CliExit ? err.exitCode : EXIT.other);
      }
    });
}

/** The blobs' line of the text output. */
function blobsLine(b: Partial<BlobCopyCounts>): string {
  return `blobs: ${b.blobs ?? 0} (${b.blobs_copied ?? 0} new on the target: ${b.blob_bytes_copied ?? 0} bytes copied), ${b.blob_grants ?? 0} tenant grant(s)${b.blob_grants_unmatched ? ` (${b.blob_grants_unmatched} to no known tenant, not copied)` : ''}, ${b.blob_derived ?? 0} recorded output(s)\n`;
}

/** --blobs-only: the data dir's blobs into the database its master already runs on. */
async function blobsOnly(o: MigrateFlags, to: string): Promise<void> {
  const { migrateBlobsOnly } = await import('../master/blobs/blob-files-migrate.js');
  const r = await migrateBlobsOnly({ from: o.from, to, force: o.force });
  if (o.output === 'json') return void process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  process.stdout.write(`copied the blobs of ${r.source} to ${r.target} (blobs only: its ${r.targetTasks} task(s), rooms and batches left as they are)\n` + blobsLine(r.blobs));
}
