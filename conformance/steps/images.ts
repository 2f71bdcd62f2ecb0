/**
 * The `image` kind (docs/IMAGES.md), for a worker that claims it: the input
 * comes over gRPC FetchBlob, the chain runs in order, the output goes back
 * with PutBlob and is named in the result; an input that is not an image is
 * a BAD_INPUT failure, not a crash. The features it advertises
 * (WorkerStatus.features, `image:op:*` / `image:format:*`) name known
 * operations and formats, and every format it advertises it writes. A worker
 * that does not claim the kind passes with "not claimed".
 */
import sharp from 'sharp';
import { IMAGE_FORMATS, IMAGE_OP_NAMES } from '../../common/kinds/image.js';
import type { JsonValue } from '../../common/json-value.js';
import { type SuiteContext, expect } from '../suite-context.js';
import type { Step } from '../step.js';

function claims(ctx: SuiteContext): boolean {
  return ctx.host.master.registry.get(ctx.workerId)?.kinds.has('image') ?? false;
}

export const imageStep: Step = {
  checks: ['image-chain', 'image-bad-input', 'image-features'],
  needsWorker: true,
  async run(ctx, report) {
    if (!claims(ctx)) {
      report.pass('image-chain', 'not claimed (kind image not advertised)');
      report.pass('image-bad-input', 'not claimed');
      report.pass('image-features', 'not claimed');
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
      return;
    }
    const unknown = advertised.filter((f) => !(f.startsWith('op:') && IMAGE_OP_NAMES.includes(f.slice(3))) && !(f.startsWith('format:') && (IMAGE_FORMATS as readonly string[]).includes(f.slice(7))));
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
  },
};
