/** Where the master finds the built web UI when `webDir` is not given. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/web next to the compiled code, or from the source tree. */
export function findWebDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    // The built UI (dist/web) wins over the source tree's web/ (which needs Vite).
    for (const c of [join(dir, 'dist', 'web'), join(dir, 'web')]) {
      if (existsSync(join(c, 'index.html')) && !existsSync(join(c, 'vite.config.ts'))) return c;
    }
    dir = dirname(dir);
  }
  return '';
}
