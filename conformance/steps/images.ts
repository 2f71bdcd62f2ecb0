/**
 * The `image` kind (docs/IMAGES.md), for a worker that claims it: the input
 * comes over gRPC FetchBlob, the chain runs in order, the output goes back
 * with PutBlob and is named in the result; an input that is not an image is
 * a BAD_INPUT failure, not a crash. The features it advertises
 * (WorkerStatus.features, `image:op:*` / `image:format:*` / `image:read:*`)
 * name known operations and formats, every format it advertises it writes,
 * and every input format it says it reads it decodes (the master places an
 * input of that format on it). A worker that does not claim the kind passes
 * with "not claimed".
 */
import sharp from 'sharp';
import { IMAGE_FORMATS, IMAGE_OP_NAMES } from '../../common/kinds/image.js';
import { BASELINE_READ_FORMATS, IMAGE_READ_FORMATS } from '../../common/kinds/image-read.js';
import type { JsonValue } from '../../common/json-value.js';
import { type SuiteContext, expect } from '../suite-context.js';
import type { Step } from '../step.js';

function claims(ctx: SuiteContext): boolean {
  return ctx.host.master.registry.get(ctx.workerId)?.kinds.has('image') ?? false;
}

export const imageStep: Step = {
  checks: ['image-chain', 'image-bad-input', 'image-features', 'image-read'],
  needsWorker: true,
  async run(ctx, report) {
    if (!claims(ctx)) {
      report.pass('image-chain', 'not claimed (kind image not advertised)');
      report.pass('image-bad-input', 'not claimed');
      report.pass('image-features', 'not claimed');
      report.pass('image-read', 'not claimed');
      return;
    }
    const blobs = ctx.host.master.blobs;
    const png = await sharp({ create: { width: 80, height: 40, channels: 3, background: { r: 200, g: 30, b: 30 } } }).png().toBuffer();
    const input = await blobs.put(png, 'image/png');
    const ops = [{ op: 'crop', left: 0, top: 0, width: 40, height: 40 }, { op: 'resize', width: 20 }, { op: 'grayscale' }, { op: 'format', format: 'png' }];
    const t = ctx.submit('image', { blob: input.id, ops } as unknown as JsonValue);
    const done = await ctx.finished(t.id, ctx.ms(20_000), 'image');
    expect(done.status === 'succeeded', `image ended ${done.status}: ${JSON.stringify(done.error)}`);
    const out = done.result as { blob?: string; width?: number; height?: number; format?: string } | null;
    expect(out && typeof out.blob === 'string', `output ${JSON.stringify(out)} names no blob`);
    expect(await blobs.has(out.blob!), `output blob ${out.blob} was not stored with PutBlob`);
    const meta = await sharp((await blobs.get(out.blob!)).data).metadata();
    const wrong: string[] = [];
    if (meta.format !== 'png') wrong.push(`stored output is ${meta.format}, not png`);
    if (meta.width !== 20 || meta.height !== 20) wrong.push(`stored output is ${meta.width}x${meta.height}, expected 20x20 (crop 40x40, then resize to 20 wide)`);
    if (meta.channels !== 1) wrong.push(`stored output has ${meta.channels} channels, expected 1 (grayscale)`);
    if (out.width !== meta.width || out.height !== meta.height) wrong.push(`result says ${out.width}x${out.height}, the blob is ${meta.width}x${meta.height}`);
    expect(wrong.length === 0, wrong.join('; '));
    report.pass('image-chain', `crop, resize, grayscale, png in order: ${meta.width}x${meta.height}, ${meta.channels} channel, blob ${out.blob!.slice(0, 12)}…`);

    const junk = await blobs.put(Buffer.from('this is not an image at all'), 'image/png');
    const bad = ctx.submit('image', { blob: junk.id, ops: [{ op: 'grayscale' }] } as unknown as JsonValue);
    const failed = await ctx.finished(bad.id, ctx.ms(20_000), 'image with a non-image input');
    expect(failed.status === 'failed' && failed.error?.code === 'BAD_INPUT', `ended ${failed.status} ${JSON.stringify(failed.error)}, expected failed with BAD_INPUT`);
    expect(failed.attempt === 1, `took ${failed.attempt} attempts: BAD_INPUT must not be retried`);
    expect(ctx.worker?.running !== false, 'the worker exited');
    report.pass('image-bad-input', `BAD_INPUT in one attempt: ${failed.error!.message.slice(0, 80)}`);

    const advertised = (ctx.host.master.registry.get(ctx.workerId)?.status.features ?? []).filter((f) => f.startsWith('image:')).map((f) => f.slice('image:'.length));
    if (advertised.length === 0) {
      report.pass('image-features', 'advertises no image features: taken to support every operation and format');
      report.pass('image-read', 'advertises no image features: taken to read every format');
      return;
    }
    const known = (list: readonly string[], f: string, prefix: string) => f.startsWith(prefix) && list.includes(f.slice(prefix.length));
    const unknown = advertised.filter((f) => !known(IMAGE_OP_NAMES, f, 'op:') && !known(IMAGE_FORMATS, f, 'format:') && !known(IMAGE_READ_FORMATS, f, 'read:'));
    expect(unknown.length === 0, `advertises unknown image features: ${unknown.join(', ')}`);
    const missing = ['op:crop', 'op:resize', 'op:grayscale', 'op:format', 'format:png'].filter((f) => !advertised.includes(f));
    expect(missing.length === 0, `ran crop, resize, grayscale and png above but does not advertise ${missing.join(', ')}`);
    const formats = advertised.filter((f) => f.startsWith('format:')).map((f) => f.slice(7));
    for (const format of formats) {
      const t2 = ctx.submit('image', { blob: input.id, ops: [{ op: 'format', format }] } as unknown as JsonValue);
      const d2 = await ctx.finished(t2.id, ctx.ms(20_000), `image to ${format}`);
      expect(d2.status === 'succeeded', `advertises format ${format} but the task ended ${d2.status}: ${JSON.stringify(d2.error)}`);
      const m2 = await sharp((await blobs.get((d2.result as { blob: string }).blob)).data).metadata();
      const got = m2.format === 'heif' ? 'avif' : m2.format;
      expect(got === format, `advertises format ${format} but wrote ${m2.format}`);
    }
    report.pass('image-features', `${advertised.length} features, writes each advertised format (${formats.join(', ')})`);

    const reads = advertised.filter((f) => f.startsWith('read:')).map((f) => f.slice(5));
    if (reads.length === 0) {
      report.pass('image-read', 'advertises no read features: gets jpeg and png inputs only');
      return;
    }
    const baseline = BASELINE_READ_FORMATS.filter((f) => !reads.includes(f));
    expect(baseline.length === 0, `advertises the formats it reads but not ${baseline.join(', ')} (every image worker reads jpeg and png)`);
    const checked: string[] = [];
    for (const format of reads) {
      const sample = await readSample(format);
      if (!sample) continue; // heif (HEIC): no encoder here to make one
      const blob = await blobs.put(sample, 'application/octet-stream');
      const t3 = ctx.submit('image', { blob: blob.id, ops: [{ op: 'format', format: 'png' }] } as unknown as JsonValue);
      const d3 = await ctx.finished(t3.id, ctx.ms(20_000), `image from ${format}`);
      expect(d3.status === 'succeeded', `advertises image:read:${format} but a ${format} input ended ${d3.status}: ${JSON.stringify(d3.error)}`);
      const m3 = await sharp((await blobs.get((d3.result as { blob: string }).blob)).data).metadata();
      expect(m3.width === SAMPLE.width && m3.height === SAMPLE.height, `read a ${SAMPLE.width}x${SAMPLE.height} ${format} as ${m3.width}x${m3.height}`);
      checked.push(format);
    }
    report.pass('image-read', `decodes each advertised input format (${checked.join(', ')})${checked.length < reads.length ? `; not checked: ${reads.filter((f) => !checked.includes(f)).join(', ')}` : ''}`);
  },
};

const SAMPLE = { width: 6, height: 4 };

/** A small image in `format` (sharp writes all but bmp, made by hand here, and heif: undefined). */
async function readSample(format: string): Promise<Buffer | undefined> {
  const { width, height } = SAMPLE;
  if (format === 'bmp') {
    // 24-bit BMP, bottom-up rows of 3 bytes per pixel padded to 4.
    const row = Math.ceil((width * 3) / 4) * 4;
    const b = Buffer.alloc(54 + row * height, 0x80);
    b.write('BM', 0, 'latin1');
    b.writeUInt32LE(b.length, 2);
    b.writeUInt32LE(0, 6);
    b.writeUInt32LE(54, 10);
    b.writeUInt32LE(40, 14);
    b.writeInt32LE(width, 18);
    b.writeInt32LE(height, 22);
    b.writeUInt16LE(1, 26);
    b.writeUInt16LE(24, 28);
    b.writeUInt32LE(0, 30);
    b.writeUInt32LE(row * height, 34);
    b.fill(0, 38, 54);
    return b;
  }
  if (!['jpeg', 'png', 'webp', 'avif', 'gif', 'tiff'].includes(format)) return undefined;
  const img = sharp({ create: { width, height, channels: 3, background: { r: 30, g: 140, b: 90 } } });
  return img.toFormat(format as 'png').toBuffer();
}
