/**
 * The image benchmark's sequential baseline as a process of its own
 * (spawned by image-bench.ts, pinned to one core with `taskset` when it is
 * there): `node image-sequential.js <dir>` runs the chain on `<dir>/chain.json`
 * over every `<dir>/img-*.jpg` in order, one at a time, with sharp
 * concurrency 1 and no cache (one libvips thread), as a fresh worker process
 * would, and prints one JSON line: wall ms, per-image ms and the CPU it used.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { imageChain } from '../common/kinds/image.js';
import { runChain } from '../worker/handlers/image/image-ops.js';

export interface SequentialResult {
  wall_ms: number;
  per_image_ms: number[];
  /** user + system CPU ms of this process over the images. */
  cpu_ms: number;
}

const dir = process.argv[2];
if (!dir) throw new Error('usage: image-sequential.js <dir with chain.json and img-*.jpg>');
const chain = imageChain.parse(JSON.parse(readFileSync(join(dir, 'chain.json'), 'utf8')));
const names = readdirSync(dir)
  .filter((f) => /^img-\d+\.jpg$/.test(f))
  .sort((a, b) => Number(/\d+/.exec(a)![0]) - Number(/\d+/.exec(b)![0]));
const images = names.map((f) => readFileSync(join(dir, f)));
sharp.concurrency(1);
sharp.cache(false);
const per: number[] = [];
const c0 = process.cpuUsage();
const t0 = performance.now();
for (const img of images) {
  const s = performance.now();
  await runChain(img, chain, { maxPixels: 100_000_000 });
  per.push(performance.now() - s);
}
const wall = performance.now() - t0;
const c = process.cpuUsage(c0);
const out: SequentialResult = { wall_ms: wall, per_image_ms: per, cpu_ms: (c.user + c.system) / 1000 };
process.stdout.write(`${JSON.stringify(out)}\n`);
