/**
 * `taskwire images process` (the built CLI) against a real master and an
 * image worker: generated PNGs go up as one batch, the progress lines are
 * printed (stdout is not a TTY here), every output lands in -o named after
 * its input with the output's format and size; a batch with a truncated
 * image downloads the good ones and exits 1; a bad flag exits non-zero
 * naming it before anything is uploaded.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { faultFixture, spawnWorker, startMasterProcess, workerReady, type MasterProcess } from '../fault/fault-cluster.js';

const { group, tmp } = faultFixture('taskwire-images-cli-');
const TOKEN = 'images-cli-test-token-0123456789';
let m: MasterProcess;

async function png(w: number, h: number, r: number): Promise<Buffer> {
  return sharp({ create: { width: w, height: h, channels: 3, background: { r, g: 90, b: 150 } } }).png().toBuffer();
}

async function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = group.taskwire(`cli ${args.slice(0, 2).join(' ')}`, args, { env: { TASKWIRE_URL: m.httpUrl, TASKWIRE_API_KEY: '' } });
  const exit = await p.waitForExit(120_000);
  const of = (s: 'stdout' | 'stderr') => p.lines.filter((l) => l.stream === s).map((l) => l.text).join('\n');
  return { code: exit.code, stdout: of('stdout'), stderr: of('stderr') };
}

beforeAll(async () => {
  m = await startMasterProcess(group, { dataDir: `${tmp.dir}/data`, clusterToken: TOKEN });
  const w = spawnWorker(group, { id: 'img-cli-w1', mqttUrl: m.mqttUrl, clusterToken: TOKEN, dir: tmp.dir, capacity: 2, env: { TASKWIRE_WORKER_KINDS: 'image', MALLOC_ARENA_MAX: '2' } });
  await workerReady(w);
  for (let i = 0; i < 3; i++) writeFileSync(join(tmp.dir, `photo-${i}.png`), await png(400 + i * 10, 300, i * 70));
}, 60_000);

describe('taskwire images process', () => {
  it('processes files with flag operations, shows progress and downloads every output with its format and size', async () => {
    const out = join(tmp.dir, 'out');
    const files = [0, 1, 2].map((i) => join(tmp.dir, `photo-${i}.png`));
    const r = await cli(['images', 'process', ...files, '--resize', '160x90', '--blur', '2', '--brightness', '1.2', '--format', 'webp', '-o', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // Plain progress lines (not a TTY), ending at 3/3.
    expect(r.stdout).toMatch(/^batch-\S+ {2}\[[#.]{20}\] \d\/3 /m);
    expect(r.stdout).toMatch(/\[#{20}\] 3\/3 {2}3 ok {2}0 failed/);
    expect(readdirSync(out).sort()).toEqual(['photo-0.webp', 'photo-1.webp', 'photo-2.webp']);
    for (let i = 0; i < 3; i++) {
      const meta = await sharp(join(out, `photo-${i}.webp`)).metadata();
      expect(meta).toMatchObject({ format: 'webp', width: 160, height: 90 });
      expect(r.stdout).toContain(`photo-${i}.png -> ${join(out, `photo-${i}.webp`)}  160x90`);
    }
  }, 150_000);

  it('takes the chain as --chain JSON in any order and prints JSON with --json', async () => {
    const out = join(tmp.dir, 'out-chain');
    const chain = JSON.stringify([{ op: 'grayscale' }, { op: 'resize', width: 50, fit: 'inside' }, { op: 'format', format: 'jpeg', quality: 70 }]);
    const r = await cli(['images', 'process', join(tmp.dir, 'photo-0.png'), '--chain', chain, '-o', out, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { status: string; counts: { succeeded: number }; images: { file: string; width: number; height: number }[] };
    expect(j).toMatchObject({ status: 'succeeded', counts: { succeeded: 1 } });
    expect(j.images[0]).toMatchObject({ file: join(out, 'photo-0.jpg'), width: 50, height: 38 });
    const meta = await sharp(join(out, 'photo-0.jpg')).metadata();
    expect(meta).toMatchObject({ format: 'jpeg', width: 50, height: 38 });
    const { data, info } = await sharp(join(out, 'photo-0.jpg')).raw().toBuffer({ resolveWithObject: true });
    if (info.channels >= 3) expect(Math.abs(data[0]! - data[2]!)).toBeLessThan(6); // grey: R ~ B (the input is r=0, b=150)
    expect(r.stderr).toMatch(/1\/1 {2}1 ok/); // with --json the progress goes to stderr
  }, 150_000);

  it('downloads the good images and exits 1 when one image of the batch failed', async () => {
    const out = join(tmp.dir, 'out-fail');
    const good = await png(200, 100, 10);
    const bad = join(tmp.dir, 'broken.png');
    writeFileSync(bad, good.subarray(0, Math.floor(good.length / 2))); // truncated: the header probe passes, decoding fails
    const r = await cli(['images', 'process', join(tmp.dir, 'photo-1.png'), bad, '--resize', '64x32', '-o', out]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/broken\.png {2}FAILED {2}BAD_INPUT/);
    expect(readdirSync(out)).toEqual(['photo-1.png']);
    expect(await sharp(join(out, 'photo-1.png')).metadata()).toMatchObject({ format: 'png', width: 64, height: 32 });
  }, 150_000);

  it('refuses a bad operation before uploading, naming it', async () => {
    const out = join(tmp.dir, 'out-bad');
    const r1 = await cli(['images', 'process', join(tmp.dir, 'photo-0.png'), '--blur', '0.1', '-o', out]);
    expect(r1.code).not.toBe(0);
    expect(r1.stderr).toMatch(/blur|sigma/);
    const r2 = await cli(['images', 'process', join(tmp.dir, 'photo-0.png'), '--chain', '[{"op":"explode"}]', '-o', out]);
    expect(r2.code).not.toBe(0);
    expect(r2.stderr).toMatch(/--chain: ops\.0\.op/);
    const r3 = await cli(['images', 'process', join(tmp.dir, 'photo-0.png'), '--resize', 'big', '-o', out]);
    expect(r3.stderr).toMatch(/--resize: expected WIDTHxHEIGHT/);
    expect(existsSync(out)).toBe(false);
  }, 150_000);
});

describe('taskwire images batches', () => {
  it('lists the batches above newest first, filters by --status, pages with --limit and prints --json', async () => {
    const r = await cli(['images', 'batches']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^ID +STATUS +CREATED +DONE +FAILED +RUNNING +CHAIN$/);
    expect(lines.length).toBeGreaterThanOrEqual(4); // the three batches the tests above made
    expect(lines[1]).toMatch(/^batch-\S+ +failed +\S+Z +1\/2 +1 +0 +resize$/); // the newest: one of its two images broken
    const failed = await cli(['images', 'batches', '--status', 'failed', '--json']);
    const page = JSON.parse(failed.stdout) as { batches: { status: string; counts: Record<string, number>; images?: unknown }[]; next_cursor: string | null };
    expect(page.batches.map((b) => b.status)).toEqual(['failed']);
    expect(page.batches[0]!.counts).toMatchObject({ total: 2, succeeded: 1, failed: 1 });
    expect(page.batches[0]!.images).toBeUndefined();
    const one = await cli(['images', 'batches', '--limit', '1']);
    expect(one.stdout.split('\n')).toHaveLength(2);
    expect(one.stderr).toMatch(/more: --cursor \S+/);
    const next = await cli(['images', 'batches', '--limit', '1', '--cursor', /more: --cursor (\S+)/.exec(one.stderr)![1]!]);
    expect(next.stdout.split('\n')[1]).toBe(lines[2]);
    const bad = await cli(['images', 'batches', '--limit', '0']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--limit must be an integer from 1 to 500/);
  }, 60_000);
});
