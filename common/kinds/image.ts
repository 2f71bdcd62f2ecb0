/**
 * Input schema of the `image` kind: one input blob and an ordered chain of
 * operations, applied in the order given. The master validates the chain at
 * submit (a bad operation is a 400 naming `input.ops.N...`); the worker
 * validates again with the same schema.
 */
import { z } from 'zod';
import { imageReadAdvert } from './image-read.js';
import { BLOB_ID } from '../blob-layout.js';

/** Most operations in one chain. */
export const MAX_IMAGE_OPS = 32;
/** Largest width / height an operation may ask for. */
export const MAX_IMAGE_SIDE = 16_384;

export const IMAGE_FORMATS = ['jpeg', 'png', 'webp', 'avif'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];
export const RESIZE_FITS = ['cover', 'contain', 'fill', 'inside', 'outside'] as const;
export const EDGE_KERNELS = ['laplacian', 'sobel_x', 'sobel_y'] as const;

const side = z.number().int().min(1).max(MAX_IMAGE_SIDE);
const factor = z.number().min(0).max(10);

export const imageOp = z.discriminatedUnion('op', [
  z
    .object({ op: z.literal('resize'), width: side.optional(), height: side.optional(), fit: z.enum(RESIZE_FITS).default('cover') })
    .strict()
    .refine((o) => o.width !== undefined || o.height !== undefined, { message: 'resize needs width or height', path: ['width'] }),
  z
    .object({ op: z.literal('crop'), left: z.number().int().min(0), top: z.number().int().min(0), width: side, height: side })
    .strict(),
  z.object({ op: z.literal('rotate'), angle: z.number().min(-360).max(360) }).strict(),
  z.object({ op: z.literal('flip'), direction: z.enum(['horizontal', 'vertical', 'both']).default('vertical') }).strict(),
  z.object({ op: z.literal('blur'), sigma: z.number().min(0.3).max(1000) }).strict(),
  z.object({ op: z.literal('sharpen'), sigma: z.number().min(0.01).max(10).default(1) }).strict(),
  z.object({ op: z.literal('brightness'), factor }).strict(),
  z.object({ op: z.literal('contrast'), factor }).strict(),
  z.object({ op: z.literal('saturation'), factor }).strict(),
  z.object({ op: z.literal('grayscale') }).strict(),
  z.object({ op: z.literal('edge'), kernel: z.enum(EDGE_KERNELS).default('laplacian') }).strict(),
  z.object({ op: z.literal('format'), format: z.enum(IMAGE_FORMATS), quality: z.number().int().min(1).max(100).optional() }).strict(),
]);
export type ImageOp = z.infer<typeof imageOp>;
/** An operation as a client writes it (defaults not yet filled in). */
export type ImageOpInput = z.input<typeof imageOp>;

export const IMAGE_OP_NAMES = imageOp.options.map((o) => o.shape.op.value) as string[];

/** A content address: the sha256 of the bytes, in hex. */
export const blobId = z.string().regex(BLOB_ID, 'expected a blob id (sha256, 64 hex digits)');

export const imageChain = z
  .array(imageOp)
  .min(1)
  .max(MAX_IMAGE_OPS)
  .superRefine((ops, ctx) => {
    ops.forEach((o, i) => {
      if (o.op === 'format' && i !== ops.length - 1) ctx.addIssue({ code: 'custom', path: [i, 'op'], message: 'format must be the last operation' });
    });
  });

export const imageInput = z.object({ blob: blobId, ops: imageChain }).strict();
export type ImageInput = z.infer<typeof imageInput>;

/** What a successful `image` task returns. */
export interface ImageOutput {
  blob: string;
  bytes: number;
  width: number;
  height: number;
  format: ImageFormat;
  content_type: string;
  ms: number;
}

/**
 * What a worker must support to run a chain: `op:<name>` per operation and
 * `format:<f>` for the output format (sorted, once each). A worker advertises
 * them as `image:op:resize`, `image:format:avif` (WorkerStatus.features).
 */
export function imageFeatures(ops: readonly { op: string; format?: string }[]): string[] {
  const out = new Set<string>();
  for (const o of ops) {
    out.add(`op:${o.op}`);
    if (o.op === 'format' && o.format) out.add(`format:${o.format}`);
  }
  return [...out].sort();
}

/**
 * Every operation of the kind, as a worker that serves all of them advertises
 * them, with the output `formats` it writes and the input formats it `reads`
 * (`image:read:<format>`, image-read.ts).
 */
export function allImageFeatures(formats: readonly string[] = IMAGE_FORMATS, reads: readonly string[] = []): string[] {
  return [...IMAGE_OP_NAMES.map((n) => `image:op:${n}`), ...formats.map((f) => `image:format:${f}`), ...imageReadAdvert(reads)].sort();
}

export const imageKind = {
  description: 'Image: an ordered chain of operations (resize, crop, blur, ...) on one uploaded image (sharp/libvips)',
  diagnostic: false,
  input: imageInput,
  features: (input: unknown) => imageFeatures((input as ImageInput).ops),
};

export const IMAGE_CONTENT_TYPES: Record<ImageFormat, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  avif: 'image/avif',
};
