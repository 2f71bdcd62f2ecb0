/** Reads an image the user picked (ocr) into the data URL the task input carries. */
import { MAX_IMAGE_DATA_URL_CHARS } from './task-input.js';

/** The file as a data URL; null when it cannot be read or is over the ocr limit. */
export async function readImage(file: File): Promise<string | null> {
  // base64 grows 4/3; refuse early instead of reading a huge file.
  if ((file.size * 4) / 3 > MAX_IMAGE_DATA_URL_CHARS) return null;
  return new Promise((resolve) => {
    const reader = new FileReader();
    reader.onload = () => resolve(typeof reader.result === 'string' ? reader.result : null);
    reader.onerror = () => resolve(null);
    reader.readAsDataURL(file);
  });
}
