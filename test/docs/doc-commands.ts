/**
 * The shell commands of README.md and docs/*.md: every fenced block marked
 * sh, bash, shell or console, split into commands (a trailing `\` joins lines,
 * comments and blank lines are dropped, a `$ ` prompt is removed).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DocCommand {
  file: string;
  /** 1-based line of the command's first line in the file. */
  line: number;
  text: string;
}

const SHELL = new Set(['sh', 'bash', 'shell', 'console', 'zsh']);

export function docFiles(root: string): string[] {
  const docs = readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`);
  return ['README.md', ...docs];
}

export function extractCommands(file: string, markdown: string): DocCommand[] {
  const out: DocCommand[] = [];
  const lines = markdown.split('\n');
  let inShell = false;
  let inFence = false;
  let pending: { line: number; parts: string[] } | undefined;
  const flush = () => {
    if (pending) out.push({ file, line: pending.line, text: pending.parts.join(' ').replace(/\s+/g, ' ').trim() });
    pending = undefined;
  };
  lines.forEach((raw, i) => {
    const fence = /^\s*(```|~~~)\s*([A-Za-z0-9_-]*)/.exec(raw);
    if (fence) {
      if (!inFence) {
        inFence = true;
        inShell = SHELL.has(fence[2]!.toLowerCase());
      } else {
        flush();
        inFence = false;
        inShell = false;
      }
      return;
    }
    if (!inShell) return;
    let l = raw.replace(/^\s*\$ /, '');
    if (!pending) {
      if (/^\s*(#|$)/.test(l)) return;
      pending = { line: i + 1, parts: [] };
    }
    // An end-of-line comment after the command is not part of it.
    l = l.replace(/\s+#\s.*$/, '');
    const continues = /\\\s*$/.test(l);
    pending.parts.push(l.replace(/\\\s*$/, '').trim());
    if (!continues) flush();
  });
  flush();
  return out;
}

export function allDocCommands(root: string): DocCommand[] {
  return docFiles(root).flatMap((f) => extractCommands(f, readFileSync(join(root, f), 'utf8')));
}
