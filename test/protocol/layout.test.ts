/**
 * The folders show the design (docs/ARCHITECTURE.md §1, shared DESIGN.md
 * "Code style"): read from the real files under master/, common/ and worker/,
 *
 * 1. no .ts file under master/ has more than MAX_LINES lines (but the
 *    allow-list below);
 * 2. no runtime import cycle among master/, common/ and worker/ files;
 * 3. master/ and worker/ never import each other.
 *
 * Imports are read from the source text: static `import … from '…'`,
 * `export … from '…'` and side-effect `import '…'` with a relative
 * specifier. For cycles only runtime imports count: `import type` /
 * `export type`, and an `import { type A, type B }` whose every name is
 * type-only, are erased by TypeScript and load nothing, so they are left
 * out; an import without `type` counts even when its names are used as types
 * only (TypeScript would erase it too: mark it `import type`). Dynamic
 * `import()` loads later, not while the module graph is linked, so it is no
 * cycle either. For (3) every import counts, type-only and dynamic ones too.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ROOMS = ['master', 'common', 'worker'] as const;
const MAX_LINES = 400;

/**
 * Files still over MAX_LINES while another change brings them under it. This
 * list must shrink, not grow: take a file off once it is within the limit,
 * and split a file that grows past it instead of adding it here.
 */
const OVER_LIMIT_ALLOWED = new Set<string>([]);

interface Import {
  /** Repository-relative path of the imported .ts file. */
  target: string;
  /** Erased by TypeScript (`import type`, every name `type`). */
  typeOnly: boolean;
  dynamic: boolean;
  line: number;
}

/** Repository-relative paths (with /) of every .ts file under `dir`. */
function tsFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (abs: string) => {
    for (const name of readdirSync(abs)) {
      const p = join(abs, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.ts')) out.push(relative(repo, p).split(sep).join('/'));
    }
  };
  walk(join(repo, dir));
  return out.sort();
}

function lineCount(text: string): number {
  if (text === '') return 0;
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}

const STATIC_FROM = /^[ \t]*(import|export)\s+(type\s+)?((?:[\w$]+\s*,\s*)?(?:\{[^}]*\}|\*(?:\s+as\s+[\w$]+)?|[\w$]+))\s*from\s*['"]([^'"]+)['"]/gm;
const SIDE_EFFECT = /^[ \t]*import\s*['"]([^'"]+)['"]/gm;
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** `{ type A, type B as C }`: every named binding type-only. */
function allNamesTypeOnly(clause: string): boolean {
  const braces = /^\{([^}]*)\}$/.exec(clause.trim());
  if (!braces) return false;
  const names = braces[1]!.split(',').map((s) => s.trim()).filter(Boolean);
  return names.length > 0 && names.every((n) => /^type\s/.test(n));
}

/** The .ts file a relative specifier names, or undefined (a package, or outside the repo). */
function resolveSpecifier(from: string, spec: string): string | undefined {
  if (!spec.startsWith('./') && !spec.startsWith('../')) return undefined;
  const abs = resolve(repo, dirname(from), spec);
  const rel = relative(repo, abs).split(sep).join('/');
  if (rel.startsWith('..')) return undefined;
  return rel.replace(/\.js$/, '.ts');
}

function importsOf(file: string, text: string): Import[] {
  const out: Import[] = [];
  const lineAt = (index: number) => text.slice(0, index).split('\n').length;
  const add = (spec: string, typeOnly: boolean, dynamic: boolean, index: number) => {
    const target = resolveSpecifier(file, spec);
    if (target !== undefined) out.push({ target, typeOnly, dynamic, line: lineAt(index) });
  };
  for (const m of text.matchAll(STATIC_FROM)) add(m[4]!, m[2] !== undefined || allNamesTypeOnly(m[3]!), false, m.index);
  for (const m of text.matchAll(SIDE_EFFECT)) add(m[1]!, false, false, m.index);
  for (const m of text.matchAll(DYNAMIC)) add(m[1]!, false, true, m.index);
  return out;
}

const files = ROOMS.flatMap((room) => tsFiles(room));
const sources = new Map(files.map((f) => [f, readFileSync(join(repo, f), 'utf8')] as const));
const imports = new Map(files.map((f) => [f, importsOf(f, sources.get(f)!)] as const));

/** Every runtime import cycle, one path per strongly connected component (Tarjan), as `a -> b -> a`. */
function runtimeCycles(): string[] {
  const edges = new Map<string, string[]>();
  for (const [file, list] of imports) {
    edges.set(file, [...new Set(list.filter((i) => !i.typeOnly && !i.dynamic && sources.has(i.target)).map((i) => i.target))]);
  }
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const connect = (v: string) => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (edges.get(v) ?? []).includes(v)) components.push(component);
    }
  };
  for (const f of files) if (!index.has(f)) connect(f);
  // One concrete cycle per component: a shortest way back to its first file (breadth-first inside it).
  return components.map((component) => {
    const inside = new Set(component);
    const start = [...component].sort()[0]!;
    const from = new Map<string, string>();
    const queue = [start];
    for (let i = 0; i < queue.length; i++) {
      const v = queue[i]!;
      for (const w of edges.get(v) ?? []) {
        if (!inside.has(w)) continue;
        if (w === start) {
          const path = [v];
          while (path[0] !== start) path.unshift(from.get(path[0]!)!);
          return [...path, start].join(' -> ');
        }
        if (!from.has(w)) (from.set(w, v), queue.push(w));
      }
    }
    return component.join(', ');
  });
}

describe('code layout (master/, common/, worker/)', () => {
  it('reads the real tree', () => {
    for (const room of ROOMS) expect(files.filter((f) => f.startsWith(`${room}/`)).length, `${room}/ .ts files`).toBeGreaterThan(10);
    expect(sources.get('master/master.ts')).toContain('export class Master');
    // The parser sees a runtime import and a type-only one that are there.
    const ofMaster = imports.get('master/master.ts')!;
    expect(ofMaster.some((i) => i.target === 'master/config.ts' && !i.typeOnly)).toBe(true);
    expect(ofMaster.some((i) => i.target === 'master/store/task-store.ts' && i.typeOnly)).toBe(true);
  });

  it(`has no .ts file under master/ over ${MAX_LINES} lines (but the allow-list)`, () => {
    const over = files
      .filter((f) => f.startsWith('master/') && !OVER_LIMIT_ALLOWED.has(f))
      .map((f) => ({ f, lines: lineCount(sources.get(f)!) }))
      .filter(({ lines }) => lines > MAX_LINES)
      .map(({ f, lines }) => `${f}: ${lines} lines (at most ${MAX_LINES}: split it along its concerns)`);
    expect(over, over.join('\n')).toEqual([]);
  });

  it('has no runtime import cycle', () => {
    const cycles = runtimeCycles();
    expect(cycles, cycles.map((c) => `import cycle: ${c}`).join('\n')).toEqual([]);
  });

  it('never imports worker/ from master/, nor master/ from worker/', () => {
    const crossings: string[] = [];
    for (const [file, list] of imports) {
      const room = file.split('/')[0];
      if (room !== 'master' && room !== 'worker') continue;
      const other = room === 'master' ? 'worker/' : 'master/';
      for (const i of list) if (i.target.startsWith(other)) crossings.push(`${file}:${i.line} imports ${i.target}`);
    }
    expect(crossings, crossings.join('\n')).toEqual([]);
  });
});
