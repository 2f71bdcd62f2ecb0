/** Builds the web UI (chat + dashboard) into dist/web when the dashboard page is missing. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const WEB_DIR = join(REPO, 'dist', 'web');

export async function buildWebIfMissing(): Promise<void> {
  if (existsSync(join(WEB_DIR, 'dashboard', 'index.html'))) return;
  const { build } = await import('vite');
  await build({ configFile: join(REPO, 'web', 'vite.config.ts'), logLevel: 'warn' });
}
