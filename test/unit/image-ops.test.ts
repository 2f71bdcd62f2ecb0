/**
 * The `image` kind: the chain schema names what is wrong, and every operation
 * does what it says, in the order given, on small images made by sharp.
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { IMAGE_OP_NAMES, imageInput, type ImageOpInput } from '../../common/kinds/image.js';
import { validateTaskInput } from '../../common/task-kinds.js';
import { ValidationError } from '../../common/errors.js';
import { ImageError, pipelines, runChain } from '../../worker/handlers/image/image-ops.js';

const BLOB = 'a'.repeat(64);
const LIMIT = { maxPixels: 10_000_000 };

/** A w x h PNG: left half red, right half blue. */
async function halves(w: number, h: number): Promise<Buffer> {
  const raw = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw.set(x < w / 2 ? [255, 0, 0] : [0, 0, 255], (y * w + x) * 3);
  return sharp(raw, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer();
}

async function pixels(buf: Buffer) {
  return sharp(buf).raw().toBuffer({ resolveWithObject: true });
}

async function run(ops: ImageOpInput[], input?: Buffer) {
  const parsed = imageInput.parse({ blob: BLOB, ops });
  return runChain(input ?? (await halves(40, 20)), parsed.ops, LIMIT);
}

describe('image chain schema', () => {
  it('knows the twelve operations', () => {
    expect(IMAGE_OP_NAMES.sort()).toEqual(
      ['blur', 'brightness', 'contrast', 'crop', 'edge', 'flip', 'format', 'grayscale', 'resize', 'rotate', 'saturation', 'sharpen'].sort(),
    );
  });

  it('names an unknown operation and a bad parameter by field', () => {
    const bad = (ops: unknown[]) => {
      try {
        validateTaskInput('image', { blob: BLOB, ops } as never);
      } catch (err) {
        expect(err).toBeInstanceOf(ValidationError);
        return (err as ValidationError).message;
      }
      throw new Error('accepted');
    };
    expect(bad([{ op: 'resize', width: 10 }, { op: 'posterize' }])).toMatch(/input\.ops\.1\.op/);
    expect(bad([{ op: 'blur', sigma: -1 }])).toMatch(/input\.ops\.0\.sigma/);
    expect(bad([{ op: 'resize' }])).toMatch(/input\.ops\.0\.width/);
    expect(bad([{ op: 'format', format: 'gif' }])).toMatch(/input\.ops\.0\.format/);
    expect(bad([{ op: 'format', format: 'png' }, { op: 'blur', sigma: 1 }])).toMatch(/input\.ops\.0\.op.*last/);
    expect(bad([{ op: 'brightness', factor: 1, extra: 1 }])).toMatch(/input\.ops\.0/);
    expect(bad([])).toMatch(/input\.ops/);
    expect(() => validateTaskInput('image', { blob: 'nothex', ops: [{ op: 'grayscale' }] })).toThrow(/input\.blob/);
  });
});

describe('image operations', () => {
  it('resize honours the fit mode', async () => {
    expect(await run([{ op: 'resize', width: 10, height: 10, fit: 'cover' }])).toMatchObject({ width: 10, height: 10 });
    expect(await run([{ op: 'resize', width: 10, height: 10, fit: 'inside' }])).toMatchObject({ width: 10, height: 5 });
    expect(await run([{ op: 'resize', width: 10, height: 10, fit: 'fill' }])).toMatchObject({ width: 10, height: 10 });
    expect(await run([{ op: 'resize', width: 20 }])).toMatchObject({ width: 20, height: 10 });
  });

  it('crop takes the region, and refuses one outside the image', async () => {
    const out = await run([{ op: 'crop', left: 30, top: 0, width: 10, height: 5 }]);
    expect(out).toMatchObject({ width: 10, height: 5 });
    const { data } = await pixels(out.data);
    expect([...data.subarray(0, 3)]).toEqual([0, 0, 255]);
    await expect(run([{ op: 'crop', left: 35, top: 0, width: 10, height: 5 }])).rejects.toBeInstanceOf(ImageError);
  });

  it('rotate and flip move the halves', async () => {
    const r = await run([{ op: 'rotate', angle: 90 }]);
    expect(r).toMatchObject({ width: 20, height: 40 });
    const f = await pixels((await run([{ op: 'flip', direction: 'horizontal' }])).data);
    expect([...f.data.subarray(0, 3)]).toEqual([0, 0, 255]);
    const v = await pixels((await run([{ op: 'flip', direction: 'vertical' }])).data);
    expect([...v.data.subarray(0, 3)]).toEqual([255, 0, 0]);
  });

  it('operations run in the order given (crop then resize differs from resize then crop)', async () => {
    const a = await run([{ op: 'crop', left: 0, top: 0, width: 20, height: 20 }, { op: 'resize', width: 10 }]);
    const b = await run([{ op: 'resize', width: 10 }, { op: 'crop', left: 0, top: 0, width: 5, height: 5 }]);
    expect(a).toMatchObject({ width: 10, height: 10 });
    expect(b).toMatchObject({ width: 5, height: 5 });
  });

  it('blur mixes the colours at the border, sharpen keeps the size', async () => {
    const { data, info } = await pixels((await run([{ op: 'blur', sigma: 3 }])).data);
    const mid = (10 * info.width + 20) * info.channels;
    expect(data[mid]).toBeGreaterThan(20);
    expect(data[mid + 2]).toBeGreaterThan(20);
    expect(await run([{ op: 'sharpen', sigma: 1 }])).toMatchObject({ width: 40, height: 20 });
  });

  it('brightness, contrast and saturation change pixel values', async () => {
    const grey = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 100, g: 100, b: 100 } } }).png().toBuffer();
    const bright = await pixels((await run([{ op: 'brightness', factor: 2 }], grey)).data);
    expect(bright.data[0]!).toBeGreaterThan(150);
    const contrast = await pixels((await run([{ op: 'contrast', factor: 2 }], grey)).data);
    expect(contrast.data[0]).toBe(72); // 2 * 100 + 128 * (1 - 2)
    const desat = await pixels((await run([{ op: 'saturation', factor: 0 }])).data);
    expect(Math.abs(desat.data[0]! - desat.data[2]!)).toBeLessThan(3);
  });

  it('grayscale leaves one channel, edge finds only the border', async () => {
    const g = await run([{ op: 'grayscale' }, { op: 'format', format: 'png' }]);
    expect((await sharp(g.data).metadata()).channels).toBe(1);
    const e = await pixels((await run([{ op: 'grayscale' }, { op: 'edge', kernel: 'laplacian' }])).data);
    expect(e.data[(10 * e.info.width + 5) * e.info.channels]).toBe(0); // flat inside a half
  });

  it('format encodes jpeg, png, webp and avif with quality', async () => {
    for (const format of ['jpeg', 'png', 'webp', 'avif'] as const) {
      const out = await run([{ op: 'format', format, quality: 50 }]);
      expect(out.format).toBe(format);
      expect(out.contentType).toBe(`image/${format}`);
      expect((await sharp(out.data).metadata()).format).toBe(format === 'avif' ? 'heif' : format);
    }
    const small = await run([{ op: 'format', format: 'jpeg', quality: 5 }], await halves(200, 200));
    const big = await run([{ op: 'format', format: 'jpeg', quality: 100 }], await halves(200, 200));
    expect(small.data.length).toBeLessThan(big.data.length);
  });

  it('refuses non-images, truncated images and decompression bombs with an ImageError', async () => {
    await expect(run([{ op: 'grayscale' }], Buffer.from('hello, not an image'))).rejects.toThrow(/not a readable image/);
    const png = await halves(200, 200);
    await expect(run([{ op: 'grayscale' }], png.subarray(0, png.length / 2))).rejects.toBeInstanceOf(ImageError);
    const bomb = await sharp({ create: { width: 5000, height: 5000, channels: 3, background: '#000' } }).png().toBuffer();
    await expect(run([{ op: 'grayscale' }], bomb)).rejects.toThrow(/too large/);
  });
});

describe('image chain pipelines', () => {
  const shape = (ops: ImageOpInput[], maxPixels = LIMIT.maxPixels) =>
    pipelines(imageInput.parse({ blob: BLOB, ops }).ops, maxPixels).map((p) => `${p.shared ? '' : '!'}${p.ops.map((o) => o.op).join('+')}`);

  it('shares a pipeline only where sharp\'s own order is the chain\'s', () => {
    expect(shape([{ op: 'resize', width: 1920, height: 1080 }, { op: 'blur', sigma: 2 }, { op: 'brightness', factor: 1.2 }, { op: 'format', format: 'jpeg' }])).toEqual(['resize+blur+brightness']);
    expect(shape([{ op: 'brightness', factor: 1.2 }, { op: 'blur', sigma: 2 }])).toEqual(['brightness', 'blur']); // sharp would blur first
    expect(shape([{ op: 'contrast', factor: 2 }, { op: 'saturation', factor: 0 }, { op: 'sharpen', sigma: 1 }])).toEqual(['contrast', 'saturation+sharpen']);
    expect(shape([{ op: 'brightness', factor: 2 }, { op: 'saturation', factor: 0 }])).toEqual(['brightness', 'saturation']); // one modulate per pipeline
    expect(shape([{ op: 'blur', sigma: 1 }, { op: 'crop', left: 0, top: 0, width: 5, height: 5 }, { op: 'edge', kernel: 'sobel_x' }])).toEqual(['blur', '!crop', 'edge']);
    expect(shape([{ op: 'grayscale' }, { op: 'rotate', angle: 90 }, { op: 'flip', direction: 'both' }])).toEqual(['!grayscale', '!rotate', '!flip']);
  });

  it('runs a resize alone unless its size is known and within the pixel limit', () => {
    expect(shape([{ op: 'resize', width: 100 }, { op: 'blur', sigma: 1 }])).toEqual(['!resize', 'blur']);
    expect(shape([{ op: 'resize', width: 100, height: 100, fit: 'outside' }, { op: 'blur', sigma: 1 }])).toEqual(['!resize', 'blur']);
    expect(shape([{ op: 'resize', width: 4000, height: 4000 }, { op: 'blur', sigma: 1 }])).toEqual(['!resize', 'blur']); // 16 M > 10 M pixels
  });

  it('gives the pixels of running each operation on its own', async () => {
    const noise = await sharp({ create: { width: 320, height: 200, channels: 3, background: '#4080c0', noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).png().toBuffer();
    const chain: ImageOpInput[] = [
      { op: 'resize', width: 160, height: 90, fit: 'cover' },
      { op: 'blur', sigma: 2 },
      { op: 'edge', kernel: 'laplacian' },
      { op: 'brightness', factor: 1.2 },
      { op: 'sharpen', sigma: 1 },
      { op: 'contrast', factor: 1.5 },
    ];
    expect(shape(chain)).toEqual(['resize+blur+edge+brightness+sharpen+contrast']);
    const together = await pixels((await run([...chain, { op: 'format', format: 'png' }], noise)).data);
    let one = noise;
    for (const op of chain) one = (await run([op, { op: 'format', format: 'png' }], one)).data;
    const alone = await pixels(one);
    expect(together.info).toMatchObject({ width: 160, height: 90, channels: alone.info.channels });
    let worst = 0;
    let sum = 0;
    for (let i = 0; i < alone.data.length; i++) {
      const d = Math.abs(alone.data[i]! - together.data[i]!);
      worst = Math.max(worst, d);
      sum += d;
    }
    // At most the rounding to 8 bits between steps differs (sharp 0.34: nothing at all).
    expect(sum / alone.data.length).toBeLessThan(0.05);
    expect(worst).toBeLessThanOrEqual(1);
  });

  it('still refuses what a resize running alone makes too large for the next step', async () => {
    await expect(run([{ op: 'resize', width: 4000, height: 4000 }, { op: 'blur', sigma: 1 }])).rejects.toThrow(/blur: .*pixel limit/i);
  });
});

