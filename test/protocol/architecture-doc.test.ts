/**
 * docs/ARCHITECTURE.md names real files: every file or directory in the first
 * column of the component tables of §1 exists under that section's directory.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { section } from './markdown-doc.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const doc = readFileSync(join(repo, 'docs', 'ARCHITECTURE.md'), 'utf8');

/** `### Title: \`dir/\`` headings of §1 and the file names in their tables' first column. */
function componentTables(): { dir: string; names: string[] }[] {
  const components = section(doc, '1. Components and files') ?? '';
  const out: { dir: string; names: string[] }[] = [];
  for (const part of components.split(/^### /m).slice(1)) {
    const dir = /^[^\n]*`([a-z]+)\/`/.exec(part)?.[1];
    if (!dir) continue;
    const names: string[] = [];
    for (const row of part.matchAll(/^\| ([^|]+) \|/gm)) {
      // file and folder names only (other tables of the section list event types and the like)
      for (const m of row[1]!.matchAll(/`([A-Za-z0-9_./-]+)`/g)) if (/\.[a-z]+$|\/$/.test(m[1]!) && !/^(task|worker)\./.test(m[1]!)) names.push(m[1]!);
    }
    if (names.length > 0) out.push({ dir, names });
  }
  return out;
}

describe('docs/ARCHITECTURE.md', () => {
  it('lists the components of common/, master/ and worker/ with files that exist', () => {
    const tables = componentTables();
    expect(tables.map((t) => t.dir).sort()).toEqual(['common', 'master', 'worker']);
    const missing: string[] = [];
    for (const { dir, names } of tables) {
      expect(names.length, `files listed for ${dir}/`).toBeGreaterThan(4);
      for (const name of names) if (!existsSync(join(repo, dir, name))) missing.push(`${dir}/${name}`);
    }
    expect(missing).toEqual([]);
  });

  it('states the lifecycle with every task status', async () => {
    const { TASK_STATUSES } = await import('../../common/task-view.js');
    const lifecycle = section(doc, '2. The task lifecycle') ?? '';
    const missing = TASK_STATUSES.filter((s) => !lifecycle.includes(`\`${s}\``));
    expect(missing).toEqual([]);
  });
});
