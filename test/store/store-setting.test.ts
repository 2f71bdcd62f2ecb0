import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveMasterOptions } from '../../master/config.js';
import { masterOptionsFromEnv } from '../../master/master-options-from-env.js';
import { redactPostgresUrl } from '../../master/store/postgres-task-store.js';
import { isPostgresUrl } from '../../master/store/postgres-url.js';

describe('TASKWIRE_STORE', () => {
  it('is empty by default (SQLite in the data dir) and accepts postgres:// and postgresql:// URLs', () => {
    expect(resolveMasterOptions({}).store).toBe('');
    expect(resolveMasterOptions({ store: 'postgres://u:p@db:5432/tw' }).store).toBe('postgres://u:p@db:5432/tw');
    expect(isPostgresUrl(resolveMasterOptions({ store: 'postgresql://db/tw' }).store)).toBe(true);
  });

  it('refuses anything else, naming the setting', () => {
    expect(() => resolveMasterOptions({ store: 'mysql://db/tw' })).toThrow(/TASKWIRE_STORE/);
    expect(() => resolveMasterOptions({ store: 'sqlite' })).toThrow(/postgres:\/\//);
  });

  it('is read from TASKWIRE_STORE or TASKWIRE_STORE_FILE (a secret file: the URL holds the password)', async () => {
    expect((await masterOptionsFromEnv({ TASKWIRE_STORE: 'postgres://a/b' })).store).toBe('postgres://a/b');
    const dir = mkdtempSync(join(tmpdir(), 'taskwire-store-setting-'));
    try {
      writeFileSync(join(dir, 'url'), 'postgres://u:secret@db/tw\n');
      expect((await masterOptionsFromEnv({ TASKWIRE_STORE_FILE: join(dir, 'url') })).store).toBe('postgres://u:secret@db/tw');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is logged without its password', () => {
    expect(redactPostgresUrl('postgres://u:secret@db:5432/tw')).not.toContain('secret');
    expect(redactPostgresUrl('postgres://u:secret@db:5432/tw')).toContain('db:5432/tw');
    expect(redactPostgresUrl('not a url')).not.toContain('not a url');
  });
});
