/** Reads an image the user picked (ocr) into the data URL the task input carries. */
import { MAX_IMAGE_DATA_URL_CHARS } from './task-input.js';

/** The data URL characters an image may have under a master's input limit (JSON around it included). */
export function imageLimit(maxInputBytes: number | undefined): number {
  return maxInputBytes === undefined ? MAX_IMAGE_DATA_URL_CHARS : Math.max(0, Math.min(MAX_IMAGE_DATA_URL_CHARS, maxInputBytes - 1024));
}

/** "about 1 MB" for a data URL limit: the largest file that fits (base64 grows 4/3). */
export function fileSizeLabel(limitChars: number): string {
  const bytes = (limitChars * 3) / 4;
  return bytes >= 1_000_000 ? `about ${(bytes / 1_000_000).toFixed(1)} MB` : `about ${Math.floor(bytes / 1000)} KB`;
}

/** The file as a data URL; 'too-large' over the limit (checked before reading), null when it cannot be read. */
export async function readImage(file: File, limitChars = MAX_IMAGE_DATA_URL_CHARS): Promise<string | null | 'too-large'> {
  // base64 grows 4/3; refuse early instead of reading a huge file.
  if ((file.size * 4) / 3 > limitChars) return 'too-large';
  return new Promise((resolve) => {
    const reader = new FileReader();
    reader.onload = () => resolve(typeof reader.result === 'string' ? reader.result : null);
    reader.onerror = () => resolve(null);
    reader.readAsDataURL(file);
  });
}
