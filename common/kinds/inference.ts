/**
 * Input schemas of the inference kinds: `infer` (KServe v2 tensors against a
 * named ONNX model) and `ocr` (read the text in an image with PP-OCR). The
 * master validates with these at submit time and schedules by `model(input)`;
 * workers validate again with the same schemas. The KServe v2 REST body
 * (`kserveInferRequest`) is the `infer` input without the model name, which
 * the REST path carries.
 */
import { z } from 'zod';
import type { JsonValue } from '../json-value.js';

/** KServe v2 / Triton tensor data types. */
export const KSERVE_DATATYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
] as const;
export type KserveDatatype = (typeof KSERVE_DATATYPES)[number];

/** Largest number of elements in one tensor a request may carry. */
export const MAX_TENSOR_ELEMENTS = 4 * 1024 * 1024;
export const MAX_TENSOR_RANK = 8;
export const MAX_TENSORS = 64;
/** Base64 image for `ocr`: a little under the 4 MiB MQTT payload limit. */
export const MAX_IMAGE_BASE64_CHARS = 3_800_000;
/** The model name the `ocr` kind needs (the PP-OCR det + rec pipeline). */
export const OCR_MODEL_NAME = 'ppocr';

const modelName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'a model name is 1-128 of A-Z a-z 0-9 . _ - (not starting with . _ -)');
const modelVersion = z.string().regex(/^[1-9][0-9]{0,8}$/, 'a model version is a positive integer, e.g. "1"');
const parameters = z.record(z.string().max(128), z.union([z.string().max(1024), z.number(), z.boolean()])).optional();

type Scalar = number | boolean | string;

/** Flattens nested (row-major) tensor data; returns undefined if an element is not a scalar. */
function flatten(data: unknown[], out: Scalar[], depth: number): boolean {
  if (depth > MAX_TENSOR_RANK) return false;
  for (const v of data) {
    if (Array.isArray(v)) {
      if (!flatten(v, out, depth + 1)) return false;
    } else if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') {
      out.push(v);
      if (out.length > MAX_TENSOR_ELEMENTS) return false;
    } else {
      return false;
    }
  }
  return true;
}

function elementOk(datatype: KserveDatatype, v: Scalar): boolean {
  switch (datatype) {
    case 'BOOL':
      return typeof v === 'boolean';
    case 'BYTES':
      return typeof v === 'string';
    case 'FP16':
    case 'FP32':
    case 'FP64':
      return typeof v === 'number' && Number.isFinite(v);
    default:
      return typeof v === 'number' && Number.isSafeInteger(v);
  }
}

/** A KServe v2 tensor; `data` may be flat or nested and comes out flat. */
export const kserveTensor = z
  .object({
    name: z.string().min(1).max(256),
    shape: z.array(z.number().int().min(0).max(MAX_TENSOR_ELEMENTS)).max(MAX_TENSOR_RANK),
    datatype: z.enum(KSERVE_DATATYPES),
    data: z.array(z.unknown()),
    parameters,
  })
  .strict()
  .transform((t, ctx) => {
    const flat: Scalar[] = [];
    if (!flatten(t.data, flat, 1)) {
      ctx.addIssue({
        code: 'custom',
        path: ['data'],
        message: `tensor ${t.name}: data must be (nested) arrays of scalars with at most ${MAX_TENSOR_ELEMENTS} elements`,
      });
      return z.NEVER;
    }
    const expected = t.shape.reduce((a, b) => a * b, 1);
    if (expected > MAX_TENSOR_ELEMENTS) {
      ctx.addIssue({ code: 'custom', path: ['shape'], message: `tensor ${t.name}: shape [${t.shape.join(',')}] has more than ${MAX_TENSOR_ELEMENTS} elements` });
      return z.NEVER;
    }
    if (flat.length !== expected) {
      ctx.addIssue({
        code: 'custom',
        path: ['data'],
        message: `tensor ${t.name}: shape [${t.shape.join(',')}] needs ${expected} elements, data has ${flat.length}`,
      });
      return z.NEVER;
    }
    const bad = flat.findIndex((v) => !elementOk(t.datatype, v));
    if (bad >= 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['data', bad],
        message: `tensor ${t.name}: element ${bad} (${JSON.stringify(flat[bad])}) is not a valid ${t.datatype} value`,
      });
      return z.NEVER;
    }
    return { ...t, data: flat };
  });
export type KserveTensor = z.output<typeof kserveTensor>;

const requestedOutput = z.object({ name: z.string().min(1).max(256), parameters }).strict();

const uniqueNames = (list: { name: string }[]): boolean => new Set(list.map((t) => t.name)).size === list.length;

/** Body of POST /v2/models/{name}[/versions/{v}]/infer. */
export const kserveInferRequest = z
  .object({
    id: z.string().max(256).optional(),
    parameters,
    inputs: z.array(kserveTensor).min(1).max(MAX_TENSORS).refine(uniqueNames, 'input names must be unique'),
    outputs: z.array(requestedOutput).max(MAX_TENSORS).optional(),
  })
  .strict();
export type KserveInferRequest = z.output<typeof kserveInferRequest>;

/**
 * Input of the `infer` kind: a KServe v2 request plus the model it is for.
 * With `parameters: {"metadata": true}` (and `inputs: []`) the task returns the
 * model's KserveModelMetadata instead of running it (what the master's KServe
 * metadata endpoint asks a worker for).
 */
export const inferInput = z
  .object({
    model_name: modelName,
    model_version: modelVersion.optional(),
    id: z.string().max(256).optional(),
    parameters,
    inputs: z.array(kserveTensor).max(MAX_TENSORS).refine(uniqueNames, 'input names must be unique'),
    outputs: z.array(requestedOutput).max(MAX_TENSORS).optional(),
  })
  .strict()
  .refine((r) => r.inputs.length > 0 || r.parameters?.['metadata'] === true, {
    path: ['inputs'],
    message: 'at least one input tensor is needed (or parameters.metadata = true)',
  });
export type InferInput = z.output<typeof inferInput>;

/** An output tensor as returned (flat data; numbers that are not finite become null). */
export interface KserveOutputTensor {
  name: string;
  datatype: KserveDatatype;
  shape: number[];
  data: (number | boolean | string | null)[];
}

/** Output of the `infer` kind and the KServe v2 infer response body. */
export interface InferOutput {
  model_name: string;
  model_version: string;
  id?: string;
  outputs: KserveOutputTensor[];
}

/** Tensor metadata in KServe v2 form: -1 marks a dynamic dimension. */
export interface KserveTensorMetadata {
  name: string;
  datatype: KserveDatatype;
  shape: number[];
}

/** GET /v2/models/{name}[/versions/{v}] response body. */
export interface KserveModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: KserveTensorMetadata[];
  outputs: KserveTensorMetadata[];
}

const DATA_URL = /^data:image\/(png|jpeg|jpg);base64,/i;

/** Input of the `ocr` kind: a base64 PNG or JPEG, optionally as a data URL. */
export const ocrInput = z
  .object({
    image: z
      .string()
      .min(16)
      .max(MAX_IMAGE_BASE64_CHARS, `image is over ${MAX_IMAGE_BASE64_CHARS} base64 characters`)
      .refine((s) => /^[A-Za-z0-9+/=\s]+$/.test(s.replace(DATA_URL, '')), 'image must be base64 PNG/JPEG or a data:image/png|jpeg;base64 URL'),
  })
  .strict();
export type OcrInput = z.output<typeof ocrInput>;

export interface OcrLine {
  text: string;
  /** Mean probability of the recognised characters, 0..1. */
  confidence: number;
  /** Corners clockwise from top-left, in image pixels: [[x, y] x 4]. */
  box: [number, number][];
}

export interface OcrOutput {
  text: string;
  lines: OcrLine[];
}

/** KindSpec-compatible (common/task-kinds.ts) spec of `infer`. */
export const inferKind = {
  description: 'ONNX inference: KServe v2 tensors in, tensors out, against a named model',
  diagnostic: false,
  input: inferInput,
  model: (input: JsonValue): string | undefined =>
    input !== null && typeof input === 'object' && !Array.isArray(input) && typeof input.model_name === 'string'
      ? input.model_name
      : undefined,
} as const;

/** KindSpec-compatible (common/task-kinds.ts) spec of `ocr`. */
export const ocrKind = {
  description: 'OCR: reads the text in a PNG/JPEG image (PP-OCR)',
  diagnostic: false,
  input: ocrInput,
  model: (_input: JsonValue): string | undefined => OCR_MODEL_NAME,
} as const;
