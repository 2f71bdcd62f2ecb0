/**
 * The on-disk model repository (Triton layout):
 *
 *   <dir>/<name>/config.json
 *   <dir>/<name>/<version>/model.onnx     version = 1, 2, ...
 *
 * Reading it is pure I/O with no onnxruntime: the engine decides what to load.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { resolveModelConfig, ModelConfigError, type ModelConfig } from './model-config.js';

export const MODEL_FILE = 'model.onnx';
export const CONFIG_FILE = 'config.json';
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const VERSION = /^[1-9][0-9]{0,8}$/;

export interface RepositoryModel {
  name: string;
  /** Versions with a model.onnx, ascending numerically. */
  versions: string[];
  dir: string;
  config: ModelConfig;
}

export function modelPath(model: RepositoryModel, version: string): string {
  return path.join(model.dir, version, MODEL_FILE);
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

async function readConfig(dir: string, name: string): Promise<ModelConfig> {
  const file = path.join(dir, CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return resolveModelConfig({}, `${name}/${CONFIG_FILE}`);
    throw new ModelConfigError(`${name}/${CONFIG_FILE}`, (err as Error).message);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ModelConfigError(`${name}/${CONFIG_FILE}`, `not JSON: ${(err as Error).message}`);
  }
  return resolveModelConfig(raw, `${name}/${CONFIG_FILE}`);
}

/** Reads one model's directory; undefined if it has no version with a model.onnx. */
export async function readRepositoryModel(root: string, name: string): Promise<RepositoryModel | undefined> {
  if (!NAME.test(name)) return undefined;
  const dir = path.join(root, name);
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return undefined;
  }
  const versions: string[] = [];
  for (const e of entries) {
    if (VERSION.test(e) && (await isFile(path.join(dir, e, MODEL_FILE)))) versions.push(e);
  }
  if (versions.length === 0) return undefined;
  versions.sort((a, b) => Number(a) - Number(b));
  return { name, versions, dir, config: await readConfig(dir, name) };
}

/** Lists every model in the repository. A missing directory is an empty repository. */
export async function scanRepository(root: string): Promise<{ models: RepositoryModel[]; errors: { name: string; error: Error }[] }> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { models: [], errors: [] };
    throw err;
  }
  const models: RepositoryModel[] = [];
  const errors: { name: string; error: Error }[] = [];
  for (const name of names.sort()) {
    try {
      const m = await readRepositoryModel(root, name);
      if (m) models.push(m);
    } catch (err) {
      errors.push({ name, error: err as Error });
    }
  }
  return { models, errors };
}
