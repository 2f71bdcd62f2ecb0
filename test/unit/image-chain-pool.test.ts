/**
 * The image handler's chain threads (worker/handlers/image/chain-pool.ts):
 * a chain run on a thread gives the bytes the same chain gives on the main
 * thread, from its bytes or from a file the thread reads; a bad image is
 * an ImageError; a cancel ends the run with its
 * reason; a thread is kept for the next image and one more is started only
 * for images at once; a closed pool refuses work.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { imageChain } from '../../common/kinds/image.js';
import { ChainPool, ChainThreadError } from '../../worker/handlers/image/chain-pool.js';
import { ImageError, runChain } from '../../worker/handlers/image/image-ops.js';

const CHAIN = imageChain.parse([
  { op: 'resize', width: 320, height: 200 },
  { op: 'blur', sigma: 1.5 },
  { op: 'brightness', factor: 1.2 },
  { op: 'format', format: 'jpeg', quality: 80 },
]);
const OPTS = { maxPixels: 100_000_000 };

const image = (w: number, h: number, seed: number): Promise<Buffer> =>
  sharp({ create: { width: w, height: h, channels: 3, background: { r: seed, g: 90, b: 200 }, noise: { type: 'gaussian', mean: 128, sigma: 30 } } })
    .jpeg({ quality: 90 })
    .toBuffer();

let pool: ChainPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe('ChainPool', () => {
  it('gives the bytes the main thread gives, and keeps its thread for the next image', async () => {
    pool = new ChainPool();
    for (const seed of [10, 200]) {
      const input = await image(1280, 720, seed);
      const inline = await runChain(Buffer.from(input), CHAIN, OPTS);
      const threaded = await pool.run(Buffer.from(input), CHAIN, OPTS);
      expect({ w: threaded.width, h: threaded.height, format: threaded.format, type: threaded.contentType }).toEqual({ w: 320, h: 200, format: 'jpeg', type: 'image/jpeg' });
      expect(Buffer.compare(threaded.data, inline.data), 'same encoded bytes').toBe(0);
      expect(pool.threads).toBe(1);
    }
  });

  it("leaves libvips' process-wide settings as the handler set them: no operation cache (loading sharp in a thread turns it on)", async () => {
    sharp.cache(false);
    pool = new ChainPool();
    await pool.run(await image(640, 360, 20), CHAIN, OPTS);
    const c = sharp.cache();
    expect({ memory: c.memory.max, files: c.files.max, items: c.items.max }).toEqual({ memory: 0, files: 0, items: 0 });
    expect(sharp.concurrency()).toBe(1);
  });

  it('moves an input that owns its memory to the thread and copies a view into a shared one', async () => {
    pool = new ChainPool();
    const input = await image(640, 360, 40);
    const owned = Buffer.from(input);
    const shared = Buffer.concat([Buffer.alloc(16), input]).subarray(16);
    await pool.run(shared, CHAIN, OPTS);
    expect(shared.length, 'a view is copied, not detached').toBe(input.length);
    await pool.run(owned, CHAIN, OPTS);
    expect(owned.length, 'an owned buffer is transferred (detached here)').toBe(0);
  });

  it('reads an input file in the thread: the same output as its bytes; a missing file is a ChainThreadError', async () => {
    pool = new ChainPool();
    const dir = mkdtempSync(join(tmpdir(), 'taskwire-chain-file-'));
    try {
      const input = await image(640, 360, 50);
      writeFileSync(join(dir, 'in.jpg'), input);
      const fromFile = await pool.run({ file: join(dir, 'in.jpg') }, CHAIN, OPTS);
      const fromBytes = await pool.run(Buffer.from(input), CHAIN, OPTS);
      expect(Buffer.compare(fromFile.data, fromBytes.data)).toBe(0);
      const missing = await pool.run({ file: join(dir, 'gone.jpg') }, CHAIN, OPTS).catch((e: unknown) => e);
      expect(missing).toBeInstanceOf(ChainThreadError);
      expect((missing as Error).message).toMatch(/could not read the input.*ENOENT/);
      expect(pool.threads, 'the thread stays').toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('starts a second thread only for two images at once', async () => {
    pool = new ChainPool();
    const [a, b] = await Promise.all([image(1280, 720, 1), image(1280, 720, 2)]);
    const both = await Promise.all([pool.run(a, CHAIN, OPTS), pool.run(b, CHAIN, OPTS)]);
    expect(both.map((r) => r.width)).toEqual([320, 320]);
    expect(pool.threads).toBe(2);
    await pool.run(await image(640, 360, 3), CHAIN, OPTS);
    expect(pool.threads, 'an idle thread is reused').toBe(2);
  });

  it('fails a bad image with an ImageError and stays usable', async () => {
    pool = new ChainPool();
    const err = await pool.run(Buffer.from('not an image at all'), CHAIN, OPTS).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageError);
    expect((err as Error).message).toMatch(/not a readable image/);
    const tooBig = await pool.run(await image(1280, 720, 5), CHAIN, { maxPixels: 1000 }).catch((e: unknown) => e);
    expect(tooBig).toBeInstanceOf(ImageError);
    expect((tooBig as Error).message).toMatch(/too large/);
    expect((await pool.run(await image(640, 360, 6), CHAIN, OPTS)).width).toBe(320);
  });

  it('ends a cancelled run with the signal reason, before and during the run', async () => {
    pool = new ChainPool();
    const before = new AbortController();
    before.abort(new Error('cancelled before'));
    await expect(pool.run(await image(640, 360, 7), CHAIN, OPTS, before.signal)).rejects.toThrow('cancelled before');
    // A long chain on a big image: the cancel arrives between two steps.
    const long = imageChain.parse([...Array.from({ length: 12 }, () => ({ op: 'blur', sigma: 8 })), { op: 'format', format: 'png' }]);
    const during = new AbortController();
    const run = pool.run(await image(3840, 2160, 8), long, OPTS, during.signal);
    setTimeout(() => during.abort(new Error('cancelled during')), 50);
    await expect(run).rejects.toThrow('cancelled during');
    expect((await pool.run(await image(640, 360, 9), CHAIN, OPTS)).width, 'the thread serves the next image').toBe(320);
  });

  it('warm() starts one thread ahead of the first image, which then runs on it', async () => {
    pool = new ChainPool();
    await pool.warm();
    expect(pool.threads).toBe(1);
    await pool.warm();
    expect(pool.threads, 'warm again: still one').toBe(1);
    expect((await pool.run(await image(640, 360, 13), CHAIN, OPTS)).width).toBe(320);
    expect(pool.threads, 'the warm thread ran it').toBe(1);
  });

  it('refuses work once closed', async () => {
    pool = new ChainPool();
    await pool.run(await image(640, 360, 11), CHAIN, OPTS);
    await pool.close();
    expect(pool.threads).toBe(0);
    await expect(pool.run(await image(640, 360, 12), CHAIN, OPTS)).rejects.toBeInstanceOf(ChainThreadError);
  });
});
