/**
 * Applies an ordered chain of image operations with sharp. sharp runs the
 * operations of one pipeline in a fixed order of its own (it always rotates
 * before it resizes, blurs before it modulates, ...), so the chain is cut
 * into pipelines (`pipelines()`): consecutive operations that sharp's order
 * runs in the chain's order share one, any other runs alone on the raw
 * pixels of the step before. The chain does exactly what it says, in its
 * order. A shared pipeline keeps its pixels inside libvips: a 4K decode
 * followed by resize + blur + brightness + encode is one pipeline and hands
 * no 25 MB raw buffer to JavaScript (whose external memory set off a full
 * collection of the worker's heap about once per image).
 */
import sharp, { type Sharp } from 'sharp';
import { IMAGE_CONTENT_TYPES, type ImageFormat, type ImageOp } from '../../../common/kinds/image.js';

export interface ImageOpsOptions {
  /** Largest width x height accepted at any step (decompression bombs). */
  maxPixels: number;
}

export interface ChainResult {
  data: Buffer;
  width: number;
  height: number;
  format: ImageFormat;
  contentType: string;
}

/** The image could not be decoded, was too big, or an operation does not fit it. */
export class ImageError extends Error {
  readonly code = 'IMAGE_INVALID';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ImageError';
  }
}

const EDGE: Record<string, number[]> = {
  laplacian: [-1, -1, -1, -1, 8, -1, -1, -1, -1],
  sobel_x: [-1, 0, 1, -2, 0, 2, -1, 0, 1],
  sobel_y: [-1, -2, -1, 0, 0, 0, 1, 2, 1],
};

interface Raw {
  data: Buffer;
  info: { width: number; height: number; channels: 1 | 2 | 3 | 4 };
}

/**
 * The place in sharp's own pipeline order (src/pipeline.cc, sharp 0.34: resize,
 * blur, convolve, modulate, sharpen, linear) of the operations that may share a
 * pipeline. A resize shares one only when its size is known and bounded
 * (width and height, a fit that never exceeds them, at most `maxPixels`), so
 * the decompression-bomb limit still holds for what it makes. The others run
 * alone: crop checks its bounds against the pixels before it.
 */
function stage(op: ImageOp, maxPixels: number): number | undefined {
  switch (op.op) {
    case 'resize':
      return op.width !== undefined && op.height !== undefined && op.fit !== 'outside' && op.width * op.height <= maxPixels ? 1 : undefined;
    case 'blur':
      return 2;
    case 'edge':
      return 3;
    case 'brightness':
    case 'saturation':
      return 4;
    case 'sharpen':
      return 5;
    case 'contrast':
      return 6;
    default:
      return undefined;
  }
}

/** A chain's pipelines: runs of operations whose stages rise (each one runs once, in sharp's order = the chain's), every other operation alone; `format` is the encoder's. */
export function pipelines(ops: readonly ImageOp[], maxPixels: number): { ops: ImageOp[]; shared: boolean }[] {
  const out: { ops: ImageOp[]; shared: boolean }[] = [];
  let last = Infinity; // the current pipeline's last stage (Infinity: it takes no more)
  for (const op of ops) {
    if (op.op === 'format') continue;
    const s = stage(op, maxPixels);
    const current = out.at(-1);
    if (s !== undefined && current && s > last) current.ops.push(op);
    else out.push({ ops: [op], shared: s !== undefined });
    last = s ?? Infinity;
  }
  return out;
}

function apply(img: Sharp, op: ImageOp, raw: Raw | undefined): Sharp {
  switch (op.op) {
    case 'resize':
      // No fast shrink-on-load: a resize from the encoded input gives the pixels of a resize of the decoded one.
      return img.resize({ width: op.width, height: op.height, fit: op.fit, fastShrinkOnLoad: false });
    case 'crop': {
      if (!raw) throw new Error('crop runs on decoded pixels'); // pipelines(): crop runs alone, after a decode
      const { width, height } = raw.info;
      if (op.left + op.width > width || op.top + op.height > height) {
        throw new ImageError(`crop ${op.width}x${op.height}+${op.left}+${op.top} is outside the ${width}x${height} image`);
      }
      return img.extract({ left: op.left, top: op.top, width: op.width, height: op.height });
    }
    case 'rotate':
      return img.rotate(op.angle, { background: { r: 0, g: 0, b: 0, alpha: 0 } });
    case 'flip':
      if (op.direction === 'horizontal') return img.flop();
      if (op.direction === 'vertical') return img.flip();
      return img.flip().flop();
    case 'blur':
      return img.blur(op.sigma);
    case 'sharpen':
      return img.sharpen({ sigma: op.sigma });
    case 'brightness':
      return img.modulate({ brightness: op.factor });
    case 'saturation':
      return img.modulate({ saturation: op.factor });
    case 'contrast':
      // Stretch around mid-grey: out = f * in + 128 * (1 - f).
      return img.linear(op.factor, 128 * (1 - op.factor));
    case 'grayscale':
      return img.grayscale();
    case 'edge':
      return img.convolve({ width: 3, height: 3, kernel: EDGE[op.kernel]! });
    case 'format':
      return img;
  }
}

function decodeFailure(err: unknown): ImageError {
  const msg = (err as Error).message ?? String(err);
  if (/pixel limit/i.test(msg)) return new ImageError(`image too large: ${msg}`, { cause: err });
  return new ImageError(`not a readable image: ${msg}`, { cause: err });
}

/** Runs `ops` on the encoded image `input`; returns the encoded result. */
export async function runChain(input: Buffer, ops: readonly ImageOp[], options: ImageOpsOptions, signal?: AbortSignal): Promise<ChainResult> {
  const limitInputPixels = options.maxPixels;
  let meta: sharp.Metadata;
  try {
    meta = await sharp(input, { limitInputPixels }).metadata();
  } catch (err) {
    throw decodeFailure(err);
  }
  if ((meta.width ?? 0) * (meta.height ?? 0) > limitInputPixels) {
    throw new ImageError(`image too large: ${meta.width}x${meta.height} pixels exceeds the limit of ${limitInputPixels}`);
  }
  const last = ops.at(-1);
  const format: ImageFormat = last?.op === 'format' ? last.format : sourceFormat(meta.format);
  const quality = last?.op === 'format' ? last.quality : undefined;
  /** Still the encoded input (autoOriented at decode: EXIF orientation applied once) until a pipeline ends in raw pixels. */
  let raw: Raw | undefined;
  const source = (): Sharp => (raw ? sharp(raw.data, { raw: raw.info, limitInputPixels }) : sharp(input, { limitInputPixels }).autoOrient());
  const failure = (label: string, err: unknown): ImageError =>
    raw ? new ImageError(`${label}: ${(err as Error).message}`, { cause: err }) : decodeFailure(err);
  const steps = pipelines(ops, limitInputPixels);
  for (const [i, step] of steps.entries()) {
    if (signal?.aborted) throw signal.reason;
    if (!step.shared && !raw) {
      try {
        raw = (await source().raw().toBuffer({ resolveWithObject: true })) as Raw;
      } catch (err) {
        throw decodeFailure(err);
      }
    }
    const img = step.ops.reduce((im, op) => apply(im, op, raw), source());
    const label = step.ops.map((op) => op.op).join(' + ');
    if (i === steps.length - 1 && step.shared) return encode(img, raw?.info.channels ?? meta.channels ?? 3, format, quality, (err) => failure(label, err));
    try {
      raw = (await img.raw().toBuffer({ resolveWithObject: true })) as Raw;
    } catch (err) {
      throw failure(label, err);
    }
  }
  if (signal?.aborted) throw signal.reason;
  return encode(source(), raw?.info.channels ?? meta.channels ?? 3, format, quality, (err) => (raw ? err : decodeFailure(err)));
}

/** Encodes the pipeline's result; grey (one channel, or two with alpha) stays grey instead of widening to sRGB. */
async function encode(img: Sharp, channels: number, format: ImageFormat, quality: number | undefined, wrap: (err: unknown) => unknown): Promise<ChainResult> {
  if (channels <= 2) img.toColourspace('b-w');
  let out: { data: Buffer; info: sharp.OutputInfo };
  try {
    out = await img.toFormat(format, quality !== undefined ? { quality } : {}).toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw wrap(err);
  }
  return { data: out.data, width: out.info.width, height: out.info.height, format, contentType: IMAGE_CONTENT_TYPES[format] };
}

/** Keeps the input's format when it is one we write; PNG otherwise. */
function sourceFormat(f: string | undefined): ImageFormat {
  if (f === 'jpeg' || f === 'png' || f === 'webp') return f;
  if (f === 'heif') return 'avif';
  return 'png';
}
