/**
 * The ImageMagick side of `npm run bench -- images`: the same chain as the
 * sharp runs, one `convert` (or `magick`) process per image, one image at a
 * time, with one thread (MAGICK_THREAD_LIMIT=1, as sharp runs with one libvips
 * thread): resize 1920x1080 cover = `-resize 1920x1080^ -gravity center
 * -extent 1920x1080`, blur 2 = `-blur 0x2`, brightness 1.2 = `-modulate 120`,
 * JPEG q80. Undefined (skipped) when no ImageMagick is installed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { summarize } from './stats.js';
import type { ImageRun } from './image-bench.js';

const ARGS = ['-resize', '1920x1080^', '-gravity', 'center', '-extent', '1920x1080', '-blur', '0x2', '-modulate', '120', '-quality', '80'];

/** `magick` (ImageMagick 7) or `convert` (6), only when `-version` says ImageMagick. */
export function findImageMagick(): string | undefined {
  for (const cmd of ['magick', 'convert']) {
    const r = spawnSync(cmd, ['-version'], { encoding: 'utf8', timeout: 10_000 });
    if (r.status === 0 && /^Version: ImageMagick/m.test(r.stdout)) return cmd;
  }
  return undefined;
}

function rssKb(pid: number | undefined): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** One image: wall ms and the process's peak RSS (sampled every 10 ms). */
function convertOne(cmd: string, input: string, output: string): Promise<{ ms: number; rssKb: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(cmd, [input, ...ARGS, output], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, MAGICK_THREAD_LIMIT: '1', OMP_NUM_THREADS: '1' } });
    let peak = 0;
    let err = '';
    const timer = setInterval(() => (peak = Math.max(peak, rssKb(p.pid))), 10);
    p.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    p.on('error', reject);
    p.on('exit', (code) => {
      clearInterval(timer);
      if (code !== 0) reject(new Error(`${cmd} exited ${code}: ${err}`));
      else resolve({ ms: performance.now() - t0, rssKb: peak });
    });
  });
}

export async function imageMagickRun(images: Buffer[]): Promise<ImageRun | undefined> {
  const cmd = findImageMagick();
  if (!cmd) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'taskwire-magick-bench-'));
  try {
    images.forEach((img, i) => writeFileSync(join(dir, `in-${i}.jpg`), img));
    const per: number[] = [];
    let peak = 0;
    const t0 = performance.now();
    for (let i = 0; i < images.length; i++) {
      const r = await convertOne(cmd, join(dir, `in-${i}.jpg`), join(dir, `out-${i}.jpg`));
      per.push(r.ms);
      peak = Math.max(peak, r.rssKb);
    }
    const wall = performance.now() - t0;
    return {
      mode: `ImageMagick ${cmd} (1 process/image, 1 thread)`,
      images: images.length,
      wall_ms: wall,
      images_per_s: images.length / (wall / 1000),
      per_image_ms: summarize(per),
      worker_peak_rss_mb: [Math.round(peak / 1024)],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
