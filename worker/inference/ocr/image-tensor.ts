/**
 * RGBA image -> normalised planar float tensor (NCHW, N = 1), with bilinear
 * resampling of a source rectangle and right padding, in the channel order
 * and normalisation PaddleOCR's models were trained with (BGR).
 */
import type { RgbaImage } from './image-decode.js';

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Normalisation {
  /** Per output channel (B, G, R): (pixel / 255 - mean) / std. */
  mean: [number, number, number];
  std: [number, number, number];
}

export const DET_NORMALISATION: Normalisation = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
export const REC_NORMALISATION: Normalisation = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };

/**
 * Resamples `rect` of `img` to `dw` x `dh` into a [3, dh, padW] tensor; columns
 * dw..padW stay 0 (PaddleOCR's padding value after normalisation).
 */
export function toChw(img: RgbaImage, rect: Rect, dw: number, dh: number, padW: number, norm: Normalisation): Float32Array {
  const out = new Float32Array(3 * dh * padW);
  const plane = dh * padW;
  const sx = rect.w / dw;
  const sy = rect.h / dh;
  // BGR order: output channel c reads RGBA byte offset 2 - c
  const scale = [0, 1, 2].map((c) => 1 / (255 * norm.std[c as 0 | 1 | 2]));
  const shift = [0, 1, 2].map((c) => norm.mean[c as 0 | 1 | 2] / norm.std[c as 0 | 1 | 2]);
  const maxX = img.width - 1;
  const maxY = img.height - 1;
  for (let y = 0; y < dh; y++) {
    const fy = Math.min(maxY, Math.max(0, rect.y + (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(maxY, y0 + 1);
    const wy = fy - y0;
    for (let x = 0; x < dw; x++) {
      const fx = Math.min(maxX, Math.max(0, rect.x + (x + 0.5) * sx - 0.5));
      const x0 = Math.floor(fx);
      const x1 = Math.min(maxX, x0 + 1);
      const wx = fx - x0;
      const i00 = (y0 * img.width + x0) * 4;
      const i01 = (y0 * img.width + x1) * 4;
      const i10 = (y1 * img.width + x0) * 4;
      const i11 = (y1 * img.width + x1) * 4;
      for (let c = 0; c < 3; c++) {
        const o = 2 - c;
        const top = img.data[i00 + o]! * (1 - wx) + img.data[i01 + o]! * wx;
        const bottom = img.data[i10 + o]! * (1 - wx) + img.data[i11 + o]! * wx;
        const v = top * (1 - wy) + bottom * wy;
        out[c * plane + y * padW + x] = v * scale[c]! - shift[c]!;
      }
    }
  }
  return out;
}
