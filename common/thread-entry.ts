/**
 * Where a worker thread's entry file is, for `new Worker(url)`. In production
 * (compiled JS in dist/) it is the sibling `<name>.js` that tsc emitted. When
 * the caller runs from TypeScript sources (vitest), Node 20 cannot start a
 * thread from `.ts` files, so the entry and the project's own modules it
 * imports (relative `./` and `../` imports, followed recursively) are
 * transpiled once (typescript, a dev dependency) into
 * node_modules/.cache/taskwire/threads/<hash of their sources>/, laid out as
 * in the project, so that package imports resolve from node_modules as
 * before.
 */
import { createHash } from 'node:crypto';
import { access, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const cached = new Map<string, Promise<URL>>();

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

/** The nearest directory above `from` with a node_modules/`pkg` (the project root). */
async function projectRoot(from: string, pkg: string): Promise<string> {
  let dir = from;
  for (;;) {
    if (await exists(path.join(dir, 'node_modules', pkg))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find node_modules/${pkg} above ${from}`);
    dir = up;
  }
}

// Static `import … from '…'`, `export … from '…'` and side-effect `import '…'`.
const RELATIVE_IMPORT = /(?:^|\n)\s*(?:import|export)\s(?:[^'"]*?\sfrom\s)?['"](\.{1,2}\/[^'"]+)['"]/g;

/** The entry's source and every project source it imports, by absolute path. */
async function sourceGraph(entry: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const visit = async (file: string): Promise<void> => {
    if (files.has(file)) return;
    const code = await readFile(file, 'utf8');
    files.set(file, code);
    for (const m of code.matchAll(RELATIVE_IMPORT)) {
      const spec = m[1]!;
      if (/^(?:import|export)\s+type\s/.test(m[0].trim())) continue; // erased by the transpiler
      await visit(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
    }
  };
  await visit(entry);
  return files;
}

async function transpiled(entry: string): Promise<URL> {
  const root = await projectRoot(path.dirname(entry), 'typescript');
  const files = await sourceGraph(entry);
  const hash = createHash('sha256');
  for (const [file, code] of [...files].sort(([a], [b]) => a.localeCompare(b))) hash.update(path.relative(root, file)).update('\0').update(code).update('\0');
  const dir = path.join(root, 'node_modules', '.cache', 'taskwire', 'threads', hash.digest('hex').slice(0, 16));
  const out = (file: string) => path.join(dir, path.relative(root, file).replace(/\.ts$/, '.js'));
  if (!(await exists(out(entry)))) {
    const ts = (await import('typescript')).default;
    const tmp = `${dir}.${process.pid}.${Date.now()}.tmp`;
    await mkdir(tmp, { recursive: true });
    await writeFile(path.join(tmp, 'package.json'), '{"type":"module"}\n');
    for (const [file, code] of files) {
      const js = ts.transpileModule(code, {
        fileName: file,
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, esModuleInterop: true, verbatimModuleSyntax: false },
      }).outputText;
      const target = path.join(tmp, path.relative(root, file).replace(/\.ts$/, '.js'));
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, js);
    }
    // Another process may have written the same graph meanwhile: either copy is complete.
    await rename(tmp, dir).catch(async (err: unknown) => {
      await rm(tmp, { recursive: true, force: true });
      if (!(await exists(out(entry)))) throw err;
    });
  }
  return pathToFileURL(out(entry));
}

/**
 * URL of the thread entry `name` (a file name without extension) next to the
 * module at `importMetaUrl` (the caller's `import.meta.url`).
 */
export function threadEntry(importMetaUrl: string, name: string): Promise<URL> {
  const key = `${importMetaUrl}\0${name}`;
  let url = cached.get(key);
  if (!url) {
    const here = fileURLToPath(importMetaUrl);
    url = here.endsWith('.js') ? Promise.resolve(new URL(`./${name}.js`, importMetaUrl)) : transpiled(path.join(path.dirname(here), `${name}.ts`));
    cached.set(key, url);
  }
  return url;
}
