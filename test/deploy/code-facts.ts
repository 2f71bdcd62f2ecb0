/**
 * What the code and the operator scripts actually offer, for the deploy tests
 * to hold stack.yml against: the environment variables the code reads, the CLI's
 * commands and options, the images scripts/build.sh builds.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, type Env } from './stack-model.js';

export const CLI = join(REPO_ROOT, 'dist', 'cli', 'taskwire.js');
const SOURCE_DIRS = ['common', 'master', 'worker', 'cli'];

function sourceFiles(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const name = entry.name;
    const path = join(dir, name);
    // Generated code, dependencies and build outputs (the Go worker's GOPATH links back into the tree).
    if (name === 'gen' || name === 'node_modules' || name.startsWith('.') || entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) sourceFiles(path, out);
    else if (/\.(ts|mts|js|mjs)$/.test(name) && !/\.test\./.test(name)) out.push(path);
  }
  return out;
}

/**
 * Environment variable names the code reads: every upper-case string literal
 * (`'TASKWIRE_HTTP_PORT'`, `"GEMINI_API_KEY"`), and `NAME_FILE` for the names
 * mentioned in files that call `envSecret()` (common/env.ts reads a secret
 * from NAME or NAME_FILE).
 */
export function envNamesReadByCode(): Set<string> {
  const names = new Set<string>();
  for (const dir of SOURCE_DIRS) {
    for (const file of sourceFiles(join(REPO_ROOT, dir))) {
      const text = readFileSync(file, 'utf8');
      // A file that reads secrets with envSecret() (directly or through a
      // helper taking the name) reads NAME_FILE for the names it mentions.
      const readsSecrets = text.includes('envSecret(');
      for (const m of text.matchAll(/['"`]([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)['"`]/g)) {
        names.add(m[1]!);
        if (readsSecrets) names.add(`${m[1]!}_FILE`);
      }
    }
  }
  return names;
}

export function cliBuilt(): boolean {
  return existsSync(CLI);
}

/** `taskwire --help` → command names. */
export function cliCommands(): string[] {
  const help = execFileSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
  const section = help.split(/^Commands:$/m)[1] ?? '';
  return [...section.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1]!);
}

/** `taskwire <command> --help` → its long options. */
export function cliOptions(command: string): string[] {
  const help = execFileSync(process.execPath, [CLI, command, '--help'], { encoding: 'utf8' });
  return [...help.matchAll(/(--[a-z][a-z-]*)/g)].map((m) => m[1]!);
}

/** `scripts/build.sh --print-images` with the given environment. */
export function builtImages(env: Env): string[] {
  const out = execFileSync('bash', [join(REPO_ROOT, 'scripts', 'build.sh'), '--print-images'], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
  });
  return out.split('\n').filter(Boolean);
}

/** The ENV of the Dockerfile's last stage (what every container starts with). */
export function dockerfileRuntimeEnv(): Record<string, string> {
  const text = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const stages = text.split(/^FROM\s/m);
  const last = stages[stages.length - 1] ?? '';
  const envs: Record<string, string> = {};
  for (const line of last.split('\n')) {
    const m = /^ENV\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    for (const pair of m[1]!.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S+)/g)) envs[pair[1]!] = pair[2]!.replace(/^"|"$/g, '');
  }
  return envs;
}
