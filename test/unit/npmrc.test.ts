/**
 * npm runs without warnings about this project's config, and onnxruntime-node's
 * install script (which would download the CUDA execution provider from NuGet)
 * stays denied by package.json "allowScripts" (npm >= 11.16).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/processes.js';

describe('.npmrc and install scripts', () => {
  it('npm reports no unknown project config', () => {
    const r = spawnSync('npm', ['config', 'get', 'fund'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/Unknown project config/);
  });

  it("onnxruntime-node's postinstall is denied", () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> };
    expect(pkg.allowScripts?.['onnxruntime-node']).toBe(false);
    const ort = JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', 'onnxruntime-node', 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
    // The script allowScripts keeps from running (it downloads unless told to skip).
    expect(ort.scripts?.postinstall).toMatch(/script\/install/);
  });
});
