/**
 * `npm run bench -- images`: a batch of generated 4K images through the
 * chain resize 1920x1080 + blur 2 + brightness 1.2 (JPEG out)
 *   (a) sequentially in a process of its own (image-sequential.ts) with the
 *       workers' environment, sharp with concurrency 1 (one libvips thread),
 *       pinned to one core with `taskset` (and once unpinned, for reference);
 *   (b) through taskwire: master in this process (blob store on disk), 1 and
 *       2 worker processes (capacity 1 each, MALLOC_ARENA_MAX=2), one batch.
 *   (c) ImageMagick (`magick` or `convert`, one process per image, one thread),
 *       skipped when it is not installed (Debian `imagemagick`);
 *   (d) 100 and 1,000 distinct images through 2 workers, with the workers'
 *       RSS sampled over the run (is it steady?).
 * Wall time, images/s, per-image time, the workers' peak RSS and the CPU
 * (user + system) per image of every process: the master's (this process)
 * and each worker's (/proc/<pid>/stat), which bounds the speedup on 2 cores
 * at 2 x sequential CPU / taskwire CPU however busy the machine is. A fresh
 * master per run, so no output is served from an earlier run.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { silentLogger } from '../common/logger.js';
import { imageChain, type ImageOp } from '../common/kinds/image.js';
import { Master } from '../master/master.js';
import type { SequentialResult } from './image-sequential.js';
import { fmt, summarize } from './stats.js';
import { imageMagickRun } from './imagemagick.js';
import { profiled } from './cpu-profile.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'taskwire.js');
const CHAIN: ImageOp[] = imageChain.parse([
  { op: 'resize', width: 1920, height: 1080 },
  { op: 'blur', sigma: 2 },
  { op: 'brightness', factor: 1.2 },
  { op: 'format', format: 'jpeg', quality: 80 },
]);

export interface ImageRun {
  mode: string;
  images: number;
  wall_ms: number;
  images_per_s: number;
  per_image_ms: ReturnType<typeof summarize>;
  worker_peak_rss_mb?: number[];
  /** Workers' RSS (MB, each) every `rss_every` finished images: steady, or growing? */
  worker_rss_trace_mb?: { done: number; rss_mb: number[] }[];
  /** CPU (user + system) per image over the run: this process (the master, or the sequential chain) and each worker. */
  cpu_ms_per_image?: { this_process: number; workers: number[]; total: number };
}

export interface ImageBench {
  image: string;
  images: number;
  chain: string;
  runs: ImageRun[];
  /** 2 local workers reading inputs from the blob directory (as `taskwire start` runs them). */
  speedup_2_workers_vs_sequential: number;
  /** 2 workers fetching inputs over gRPC (as workers on other hosts do). */
  speedup_2_grpc_workers_vs_sequential: number;
  /** ImageMagick's time over sharp's (sequential, one thread each); absent without ImageMagick. */
  imagemagick_vs_sharp?: number;
  /** Longer runs (100, 1,000 images) through 2 workers, with their RSS over the run. */
  volume: ImageRun[];
}

async function makeImages(n: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    out.push(
      await sharp({ create: { width: 3840, height: 2160, channels: 3, background: { r: 20 * i, g: 120, b: 200 }, noise: { type: 'gaussian', mean: 128, sigma: 40 } } })
        .jpeg({ quality: 90 })
        .toBuffer(),
    );
  }
  return out;
}

const SEQUENTIAL = join(dirname(fileURLToPath(import.meta.url)), 'image-sequential.js');

/** Is `taskset` (util-linux) on PATH? Then the sequential baseline is pinned to one core. */
function hasTaskset(): boolean {
  return spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' }).status === 0;
}

/**
 * The baseline: the chain over the images one by one in a fresh process
 * (image-sequential.ts) with the workers' environment (MALLOC_ARENA_MAX=2),
 * sharp concurrency 1 and one libvips thread; `pinned`: on one core
 * (`taskset -c 0`), as the issue words it. Unpinned, its main thread (garbage
 * collection, buffers) runs beside the libvips thread on the other core.
 */
async function sequential(images: Buffer[], pinned: boolean): Promise<ImageRun> {
  const dir = mkdtempSync(join(tmpdir(), 'taskwire-image-seq-'));
  try {
    writeFileSync(join(dir, 'chain.json'), JSON.stringify(CHAIN));
    images.forEach((img, i) => writeFileSync(join(dir, `img-${i}.jpg`), img));
    const [cmd, args] = pinned ? ['taskset', ['-c', '0', process.execPath, SEQUENTIAL, dir]] : [process.execPath, [SEQUENTIAL, dir]];
    const child = spawn(cmd, args, { env: { ...process.env, MALLOC_ARENA_MAX: '2' }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    if (code !== 0) throw new Error(`sequential run exited with ${code}`);
    const r = JSON.parse(out) as SequentialResult;
    const self = r.cpu_ms / images.length;
    return {
      mode: `sequential, ${pinned ? '1 core (taskset)' : 'unpinned'}, concurrency 1`,
      images: images.length,
      wall_ms: r.wall_ms,
      images_per_s: images.length / (r.wall_ms / 1000),
      per_image_ms: summarize(r.per_image_ms),
      cpu_ms_per_image: { this_process: self, workers: [], total: self },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const cpuMs = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1000;

/** CPU ms (user + system) process `pid` has used, from /proc (Linux; USER_HZ 100); 0 elsewhere. */
function procCpuMs(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // utime, stime: fields 14, 15
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return 0;
  }
}

/** With TASKWIRE_BENCH_PROFILE=<dir>, workers write a V8 CPU profile there on exit (`node --cpu-prof`). */
function workerProfileArgs(): string[] {
  const dir = process.env['TASKWIRE_BENCH_PROFILE'];
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=200'] : [];
}

function rssMb(pid: number | undefined): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** `n` images from `input(i)` (made when uploaded, so 1,000 4K images are never all in memory). */
/**
 * `colocated`: the workers read inputs from the master's blob directory
 * (TASKWIRE_BLOB_DIR), as `taskwire start`'s local workers do; otherwise
 * they fetch them over gRPC, as workers on other hosts do.
 */
export async function distributed(
  images: Buffer[] | { n: number; input: (i: number) => Buffer },
  workerCount: number,
  rssEvery = 0,
  colocated = false,
): Promise<ImageRun> {
  const n = Array.isArray(images) ? images.length : images.n;
  const input = Array.isArray(images) ? (i: number) => images[i]! : images.input;
  const dataDir = mkdtempSync(join(tmpdir(), 'taskwire-image-bench-'));
  const master = await Master.create(
    { bindHost: '127.0.0.1', httpPort: 0, grpcPort: 0, mqttPort: 0, logToStdout: false, logLevel: 'warn', dataDir },
    { logger: { logger: silentLogger() } },
  );
  const workers: ChildProcess[] = [];
  try {
    for (let i = 0; i < workerCount; i++) {
      workers.push(
        spawn(process.execPath, [...workerProfileArgs(), CLI, 'worker'], {
          env: {
            ...process.env,
            TASKWIRE_MQTT_URL: master.mqttUrl,
            TASKWIRE_GRPC_URL: `127.0.0.1:${master.grpcPort}`,
            TASKWIRE_CLUSTER_TOKEN: master.clusterToken,
            TASKWIRE_WORKER_CAPACITY: '1',
            TASKWIRE_WORKER_ID: `img-bench-${process.pid}-${workerCount}-${i}`,
            TASKWIRE_WORKER_KINDS: 'image',
            ...(colocated && master.blobDir && { TASKWIRE_BLOB_DIR: master.blobDir }),
            TASKWIRE_LOG_LEVEL: 'warn',
            MALLOC_ARENA_MAX: '2',
          },
          stdio: ['ignore', 'ignore', 'inherit'],
        }),
      );
    }
    const until = Date.now() + 30_000;
    while (master.registry.schedulable().length < workerCount) {
      if (Date.now() > until) throw new Error('workers did not register');
      await new Promise((r) => setTimeout(r, 20));
    }
    const blobs: { name: string; blob: string }[] = [];
    for (let i = 0; i < n; i++) blobs.push({ name: `img-${i}.jpg`, blob: (await master.blobs.put(input(i), 'image/jpeg')).id });
    const peak = workers.map(() => 0);
    const trace: { done: number; rss_mb: number[] }[] = [];
    const wc0 = workers.map((w) => procCpuMs(w.pid));
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const view = await profiled(`images-master-${workerCount}w-${n}`, async () => {
      let v = await master.batches.create(blobs, CHAIN);
      while (v.status === 'running') {
        await new Promise((r) => setTimeout(r, 50));
        const rss = workers.map((w) => rssMb(w.pid));
        rss.forEach((r, i) => (peak[i] = Math.max(peak[i]!, r)));
        v = master.batches.get(v.id);
        const done = v.counts.succeeded + v.counts.failed;
        if (rssEvery > 0 && done >= (trace.length + 1) * rssEvery) trace.push({ done, rss_mb: rss.map((r) => Math.round(r)) });
      }
      return v;
    });
    const wall = performance.now() - t0;
    const self = cpuMs(process.cpuUsage(c0)) / n;
    const wcpu = workers.map((w, i) => (procCpuMs(w.pid) - wc0[i]!) / n);
    if (view.counts.failed > 0) throw new Error(`${view.counts.failed} images failed: ${JSON.stringify(view.images.find((i) => i.error)?.error)}`);
    return {
      mode: `taskwire, ${workerCount} worker${workerCount > 1 ? 's' : ''} (capacity 1${colocated ? ', local reads' : ''})`,
      images: n,
      wall_ms: wall,
      images_per_s: n / (wall / 1000),
      per_image_ms: summarize(view.images.map((i) => i.ms ?? NaN)),
      worker_peak_rss_mb: peak.map((p) => Math.round(p)),
      cpu_ms_per_image: { this_process: self, workers: wcpu, total: self + wcpu.reduce((a, b) => a + b, 0) },
      ...(rssEvery > 0 && { worker_rss_trace_mb: trace }),
    };
  } finally {
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(workers.map((w) => (w.exitCode === null ? once(w, 'exit') : undefined)));
    await master.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * `volumes`: the sizes of the longer 2-worker runs (default 100 and 1,000;
 * TASKWIRE_BENCH_IMAGE_VOLUMES=100,1000, empty for none; none with `quick`).
 * Their inputs are the 10 generated images, each made distinct by trailing
 * bytes after the JPEG's end (a different blob, so no output is reused).
 */
export async function runImageBench(opts: { quick: boolean; volumes?: number[] }): Promise<ImageBench> {
  const n = opts.quick ? 4 : 10;
  const images = await makeImages(n);
  // The baseline (runs[0]): pinned to one core when taskset is there; the unpinned run beside it for reference.
  const pin = hasTaskset();
  const runs = [await sequential(images, pin)];
  if (pin) runs.push(await sequential(images, false));
  const magick = await imageMagickRun(images);
  if (magick) runs.push(magick);
  runs.push(await distributed(images, 1), await distributed(images, 2));
  const grpc2 = runs[runs.length - 1]!;
  runs.push(await distributed(images, 1, 0, true), await distributed(images, 2, 0, true));
  const volume: ImageRun[] = [];
  for (const v of opts.quick ? [] : (opts.volumes ?? [100, 1000])) {
    const input = (i: number) => Buffer.concat([images[i % images.length]!, Buffer.from(`\ntaskwire-bench-${v}-${i}`)]);
    volume.push(await distributed({ n: v, input }, 2, Math.max(10, v / 10)));
  }
  return {
    image: '3840x2160 JPEG (q90, noise)',
    images: n,
    chain: 'resize 1920x1080 (cover) + blur 2 + brightness 1.2 + jpeg q80',
    runs,
    speedup_2_workers_vs_sequential: runs[0]!.wall_ms / runs[runs.length - 1]!.wall_ms,
    speedup_2_grpc_workers_vs_sequential: runs[0]!.wall_ms / grpc2.wall_ms,
    ...(magick && { imagemagick_vs_sharp: magick.wall_ms / runs[0]!.wall_ms }),
    volume,
  };
}

export function printImageBench(b: ImageBench): void {
  console.log(`\nimages: ${b.images} x ${b.image}; chain ${b.chain}`);
  console.log('mode                                          wall s   img/s   per-image p50 ms   p90 ms   worker peak RSS MB');
  for (const r of b.runs) {
    console.log(
      `${r.mode.padEnd(46)}${fmt(r.wall_ms / 1000).padStart(6)}  ${fmt(r.images_per_s).padStart(6)}  ${fmt(r.per_image_ms.p50, 0).padStart(17)}  ${fmt(r.per_image_ms.p90, 0).padStart(7)}   ${r.worker_peak_rss_mb?.join(', ') ?? '-'}`,
    );
  }
  console.log('CPU ms per image (user + system): this process (master or sequential chain) + workers = total');
  for (const r of b.runs) {
    const c = r.cpu_ms_per_image;
    if (c) console.log(`  ${r.mode.padEnd(46)}${fmt(c.this_process, 0)} + [${c.workers.map((w) => fmt(w, 0)).join(', ')}] = ${fmt(c.total, 0)}`);
  }
  console.log(
    `speedup of 2 workers over sequential: ${fmt(b.speedup_2_workers_vs_sequential)}x reading inputs from the blob directory (local workers), ${fmt(b.speedup_2_grpc_workers_vs_sequential)}x fetching them over gRPC`,
  );
  if (b.imagemagick_vs_sharp !== undefined) console.log(`ImageMagick takes ${fmt(b.imagemagick_vs_sharp)}x sharp's time (sequential, one thread each)`);
  else console.log('ImageMagick: skipped (no `magick` or `convert` of ImageMagick on PATH; Debian: apt-get install imagemagick)');
  for (const r of b.volume) {
    console.log(
      `\n${r.images} images, ${r.mode}: ${fmt(r.wall_ms / 1000)} s, ${fmt(r.images_per_s)} img/s, per image p50 ${fmt(r.per_image_ms.p50, 0)} ms p90 ${fmt(r.per_image_ms.p90, 0)} ms; worker peak RSS ${r.worker_peak_rss_mb?.join(', ')} MB`,
    );
    console.log(`  worker RSS MB by images done: ${(r.worker_rss_trace_mb ?? []).map((t) => `${t.done}: ${t.rss_mb.join('/')}`).join('  ')}`);
  }
}
