/**
 * Reads the text in an image with PP-OCR through the inference engine:
 * detection (one run per image) finds text boxes, then every box is cropped,
 * scaled to height 48 and padded to a width bucket, and recognised as its own
 * request, so the engine's dynamic batcher batches the lines of one image and
 * of concurrent images together. Greedy CTC decoding gives text + confidence.
 */
import type { OcrLine, OcrOutput } from '../../../common/kinds/inference.js';
import { TaskFailure } from '../../handlers/task-handler.js';
import type { InferenceEngine } from '../inference-engine.js';
import { float32Tensor, type WireTensor } from '../wire-tensor.js';
import { ctcDecode } from './ctc-decode.js';
import { dbBoxes, DB_DEFAULTS, type DbOptions } from './db-postprocess.js';
import type { RgbaImage } from './image-decode.js';
import { DET_NORMALISATION, REC_NORMALISATION, toChw } from './image-tensor.js';

export interface OcrPipelineOptions {
  detModel: string;
  recModel: string;
  dictionary: readonly string[];
  /** Longest side the detector sees (PaddleOCR det_limit_side_len). */
  limitSideLen: number;
  recHeight: number;
  /** Recognition widths are padded up to a multiple of this (batching buckets)... */
  recWidthStep: number;
  /** ...and at least this (PaddleOCR's 320). */
  recMinWidth: number;
  recMaxWidth: number;
  /** Lines recognised with less confidence are dropped (PaddleOCR drop_score). */
  dropScore: number;
  maxLines: number;
  db: DbOptions;
}

export const OCR_PIPELINE_DEFAULTS: Omit<OcrPipelineOptions, 'detModel' | 'recModel' | 'dictionary'> = {
  limitSideLen: 960,
  recHeight: 48,
  recWidthStep: 80,
  recMinWidth: 320,
  recMaxWidth: 1600,
  dropScore: 0.5,
  maxLines: 256,
  db: DB_DEFAULTS,
};

function firstOutput(outputs: Record<string, WireTensor>, model: string): WireTensor {
  const t = Object.values(outputs)[0];
  if (!t || t.type !== 'float32') throw new TaskFailure('INFERENCE_ERROR', `${model} returned no float32 output`);
  return t;
}

export class OcrPipeline {
  private readonly engine: InferenceEngine;
  private readonly o: OcrPipelineOptions;

  constructor(engine: InferenceEngine, options: OcrPipelineOptions) {
    this.engine = engine;
    this.o = options;
  }

  /** The padded input width a crop of `w` x `h` pixels is recognised at. */
  recWidth(w: number, h: number): { width: number; padded: number } {
    const width = Math.max(1, Math.min(this.o.recMaxWidth, Math.ceil((this.o.recHeight * w) / Math.max(1, h))));
    const padded = Math.max(this.o.recMinWidth, Math.ceil(width / this.o.recWidthStep) * this.o.recWidthStep);
    return { width, padded: Math.min(padded, Math.max(this.o.recMaxWidth, this.o.recMinWidth)) };
  }

  /** The recogniser's input tensor for one crop of `img`. */
  recTensor(img: RgbaImage, rect: { x: number; y: number; w: number; h: number }): WireTensor {
    const { width, padded } = this.recWidth(rect.w, rect.h);
    const data = toChw(img, rect, width, this.o.recHeight, padded, REC_NORMALISATION);
    return float32Tensor(data, [1, 3, this.o.recHeight, padded]);
  }

  async read(img: RgbaImage, signal?: AbortSignal): Promise<OcrOutput> {
    const ratio = Math.min(1, this.o.limitSideLen / Math.max(img.width, img.height));
    const rh = Math.max(32, Math.round((img.height * ratio) / 32) * 32);
    const rw = Math.max(32, Math.round((img.width * ratio) / 32) * 32);
    const detIn = toChw(img, { x: 0, y: 0, w: img.width, h: img.height }, rw, rh, rw, DET_NORMALISATION);
    const detName = this.engine.metadata(this.o.detModel).inputs[0]?.name ?? 'x';
    const det = await this.engine.infer(this.o.detModel, undefined, { [detName]: float32Tensor(detIn, [1, 3, rh, rw]) }, signal);
    const map = firstOutput(det.outputs, this.o.detModel);
    const mapH = map.dims[2] ?? rh;
    const mapW = map.dims[3] ?? rw;
    const boxes = dbBoxes(new Float32Array(map.data), mapW, mapH, img.width / mapW, img.height / mapH, img.width, img.height, this.o.db).slice(
      0,
      this.o.maxLines,
    );

    const recName = this.engine.metadata(this.o.recModel).inputs[0]?.name ?? 'x';
    const recognised = await Promise.all(
      boxes.map(async (b) => {
        const r = await this.engine.infer(this.o.recModel, undefined, { [recName]: this.recTensor(img, b.rect) }, signal);
        const out = firstOutput(r.outputs, this.o.recModel);
        const [, t = 0, c = 0] = out.dims;
        return ctcDecode(new Float32Array(out.data), t, c, 0, this.o.dictionary);
      }),
    );

    const lines: OcrLine[] = [];
    const rows: { y: number; h: number; texts: string[] }[] = [];
    boxes.forEach((b, i) => {
      const d = recognised[i]!;
      const text = d.text.trim();
      if (!text || d.confidence < this.o.dropScore) return;
      const { x, y, w, h } = b.rect;
      const [x0, y0, x1, y1] = [x, y, x + w, y + h].map(Math.round) as [number, number, number, number];
      lines.push({ text, confidence: Math.round(d.confidence * 1e4) / 1e4, box: [[x0, y0], [x1, y0], [x1, y1], [x0, y1]] });
      const row = rows[rows.length - 1];
      if (row && Math.abs(row.y - y) < Math.min(row.h, h) / 2) row.texts.push(text);
      else rows.push({ y, h, texts: [text] });
    });
    return { text: rows.map((r) => r.texts.join(' ')).join('\n'), lines };
  }
}
