/**
 * Applies an ordered chain of image operations with sharp. sharp reorders
 * the operations of one pipeline (it always rotates before it resizes, ...),
 * so each operation runs as its own pipeline on raw pixels: the chain does
 * exactly what it says, in its order. Only the last step encodes.
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

function apply(img: Sharp, op: ImageOp, raw: Raw): Sharp {
  switch (op.op) {
    case 'resize':
      return img.resize({ width: op.width, height: op.height, fit: op.fit });
    case 'crop': {
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
  let raw: Raw;
  try {
    // autoOrient: EXIF orientation applied once, at decode.
    raw = (await sharp(input, { limitInputPixels }).autoOrient().raw().toBuffer({ resolveWithObject: true })) as Raw;
  } catch (err) {
    throw decodeFailure(err);
  }
  for (const op of ops) {
    if (signal?.aborted) throw signal.reason;
    if (op.op === 'format') continue;
    const img = apply(sharp(raw.data, { raw: raw.info, limitInputPixels }), op, raw);
    try {
      raw = (await img.raw().toBuffer({ resolveWithObject: true })) as Raw;
    } catch (err) {
      throw new ImageError(`${op.op}: ${(err as Error).message}`, { cause: err });
    }
  }
  const last = ops.at(-1);
  const format: ImageFormat = last?.op === 'format' ? last.format : sourceFormat(meta.format);
  const quality = last?.op === 'format' ? last.quality : undefined;
  const encoder = sharp(raw.data, { raw: raw.info, limitInputPixels });
  // Grey stays grey (one channel, or two with alpha) instead of widening to sRGB.
  if (raw.info.channels <= 2) encoder.toColourspace('b-w');
  const out = await encoder
    .toFormat(format, quality !== undefined ? { quality } : {})
    .toBuffer({ resolveWithObject: true });
  return { data: out.data, width: out.info.width, height: out.info.height, format, contentType: IMAGE_CONTENT_TYPES[format] };
}

/** Keeps the input's format when it is one we write; PNG otherwise. */
function sourceFormat(f: string | undefined): ImageFormat {
  if (f === 'jpeg' || f === 'png' || f === 'webp') return f;
  if (f === 'heif') return 'avif';
  return 'png';
}
