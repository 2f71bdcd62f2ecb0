/**
 * Where a session thread's entry file is. In production (compiled JS in
 * dist/) it is the sibling `session-thread.js` that tsc emitted. When this
 * module runs from TypeScript sources (vitest), Node 20 cannot start a worker
 * thread from a `.ts` file, so the
 * self-contained session-thread.ts is transpiled once (typescript, a dev
 * dependency) into node_modules/.cache/taskwire/, next to the packages it
 * imports, keyed by a hash of its source.
 */
import { createHash } from 'node:crypto';
import { access, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ENTRY = 'session-thread';
let cached: Promise<URL> | undefined;

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

async function projectRoot(from: string): Promise<string> {
  let dir = from;
  for (;;) {
    if (await exists(path.join(dir, 'node_modules', 'onnxruntime-node'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find node_modules/onnxruntime-node above ${from}`);
    dir = up;
  }
}

async function transpiled(source: string): Promise<URL> {
  const code = await readFile(source, 'utf8');
  const hash = createHash('sha256').update(code).digest('hex').slice(0, 16);
  const dir = path.join(await projectRoot(path.dirname(source)), 'node_modules', '.cache', 'taskwire');
  const out = path.join(dir, `${ENTRY}-${hash}.mjs`);
  if (!(await exists(out))) {
    const ts = (await import('typescript')).default;
    const js = ts.transpileModule(code, {
      fileName: source,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, esModuleInterop: true, verbatimModuleSyntax: false },
    }).outputText;
    await mkdir(dir, { recursive: true });
    const tmp = `${out}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, js);
    await rename(tmp, out);
  }
  return pathToFileURL(out);
}

/** URL of the session thread entry, usable with `new Worker(url)`. */
export function resolveThreadEntry(): Promise<URL> {
  cached ??= (async () => {
    const here = fileURLToPath(import.meta.url);
    if (here.endsWith('.js')) return new URL(`./${ENTRY}.js`, import.meta.url);
    return transpiled(path.join(path.dirname(here), `${ENTRY}.ts`));
  })();
  return cached;
}
