/**
 * The example model shipped in models/linear (what README.md's and
 * docs/INFERENCE.md's /v2 examples call) is exactly what `linearModel`
 * builds, and the engine answers the documented numbers with it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/processes.js';
import { linearModel } from './onnx-fixtures.js';

const W = [
  [1, 0.5],
  [1, 0.5],
  [1, 0.5],
  [1, 0.5],
];

describe('models/linear (the shipped example model)', () => {
  it('is the model linearModel builds: Y = X·W with W = [ones, halves]', () => {
    const shipped = readFileSync(path.join(REPO_ROOT, 'models', 'linear', '1', 'model.onnx'));
    expect(Buffer.from(linearModel(W, [0, 0])).equals(shipped)).toBe(true);
  });
});
