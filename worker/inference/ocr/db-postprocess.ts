/**
 * DB (differentiable binarisation) post-processing of the PP-OCR detector's
 * probability map: threshold, connected components, score, "unclip" (grow the
 * shrunk text kernel back to the text's extent), scale to image pixels.
 * Boxes are axis-aligned rectangles, which fits horizontal text.
 */
import type { Rect } from './image-tensor.js';

export interface DbOptions {
  /** Pixel probability threshold of the bitmap (PaddleOCR det_db_thresh). */
  threshold: number;
  /** Mean probability a region needs (det_db_box_thresh). */
  boxThreshold: number;
  /**
   * How much to grow a region (det_db_unclip_ratio). 2.0 rather than
   * PaddleOCR's 1.5: our axis-aligned boxes are otherwise tight enough that the
   * recogniser stops emitting spaces between words.
   */
  unclipRatio: number;
  /** Smallest side of a region, in map pixels. */
  minSize: number;
  maxBoxes: number;
}

export const DB_DEFAULTS: DbOptions = { threshold: 0.3, boxThreshold: 0.6, unclipRatio: 2.0, minSize: 3, maxBoxes: 1000 };

export interface DetectedBox {
  rect: Rect;
  score: number;
}

/**
 * @param prob  probability map, `mapW` x `mapH`, row-major
 * @param scaleX image width / map width (and scaleY likewise)
 */
export function dbBoxes(
  prob: Float32Array,
  mapW: number,
  mapH: number,
  scaleX: number,
  scaleY: number,
  imageW: number,
  imageH: number,
  o: DbOptions = DB_DEFAULTS,
): DetectedBox[] {
  const seen = new Uint8Array(mapW * mapH);
  const stack = new Int32Array(mapW * mapH);
  const boxes: DetectedBox[] = [];
  for (let start = 0; start < prob.length; start++) {
    if (seen[start] || prob[start]! <= o.threshold) continue;
    let top = 0;
    stack[top++] = start;
    seen[start] = 1;
    let minX = mapW;
    let minY = mapH;
    let maxX = -1;
    let maxY = -1;
    let sum = 0;
    let count = 0;
    while (top > 0) {
      const p = stack[--top]!;
      const x = p % mapW;
      const y = (p - x) / mapW;
      sum += prob[p]!;
      count++;
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
      const push = (q: number): void => {
        if (!seen[q] && prob[q]! > o.threshold) {
          seen[q] = 1;
          stack[top++] = q;
        }
      };
      if (x > 0) push(p - 1);
      if (x < mapW - 1) push(p + 1);
      if (y > 0) push(p - mapW);
      if (y < mapH - 1) push(p + mapW);
    }
    const w = maxX - minX + 1;
    const h = maxY - minY + 1;
    if (Math.min(w, h) < o.minSize) continue;
    const score = sum / count;
    if (score < o.boxThreshold) continue;
    const d = (w * h * o.unclipRatio) / (2 * (w + h));
    const x0 = Math.max(0, (minX - d) * scaleX);
    const y0 = Math.max(0, (minY - d) * scaleY);
    const x1 = Math.min(imageW, (maxX + 1 + d) * scaleX);
    const y1 = Math.min(imageH, (maxY + 1 + d) * scaleY);
    if (Math.min(x1 - x0, y1 - y0) < o.minSize + 2) continue;
    boxes.push({ rect: { x: x0, y: y0, w: x1 - x0, h: y1 - y0 }, score });
    if (boxes.length >= o.maxBoxes) break;
  }
  return sortReadingOrder(boxes);
}

/** Top to bottom, and left to right within a line (PaddleOCR sorted_boxes). */
export function sortReadingOrder(boxes: DetectedBox[]): DetectedBox[] {
  const sorted = [...boxes].sort((a, b) => a.rect.y - b.rect.y || a.rect.x - b.rect.x);
  for (let i = 0; i < sorted.length - 1; i++) {
    for (let j = i; j >= 0; j--) {
      const a = sorted[j]!;
      const b = sorted[j + 1]!;
      if (Math.abs(b.rect.y - a.rect.y) < Math.min(a.rect.h, b.rect.h) / 2 && b.rect.x < a.rect.x) {
        sorted[j] = b;
        sorted[j + 1] = a;
      } else {
        break;
      }
    }
  }
  return sorted;
}
