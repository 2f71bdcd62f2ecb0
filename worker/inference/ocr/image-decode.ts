/**
 * Decodes a base64 PNG or JPEG (optionally a data: URL) into RGBA pixels,
 * with pure-JS decoders (pngjs, jpeg-js) and a pixel budget checked before
 * decoding, so a hostile header cannot make the worker allocate gigabytes.
 */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { TaskFailure } from '../../handlers/task-handler.js';

export interface RgbaImage {
  width: number;
  height: number;
  /** RGBA, row-major, 4 bytes per pixel. */
  data: Uint8Array;
}

export const MAX_IMAGE_PIXELS = 25_000_000;
const DATA_URL = /^data:image\/(?:png|jpeg|jpg);base64,/i;

function bad(message: string): TaskFailure {
  return new TaskFailure('BAD_INPUT', message);
}

/** PNG IHDR / JPEG SOFn dimensions, without decoding. */
function peekSize(buf: Buffer): { format: 'png' | 'jpeg'; width: number; height: number } {
  if (buf.length > 24 && buf.readUInt32BE(0) === 0x89504e47 && buf.readUInt32BE(4) === 0x0d0a1a0a) {
    return { format: 'png', width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
  }
  if (buf.length > 4 && buf[0] === 0xff && buf[1] === 0xd8) {
    let i = 2;
    while (i + 9 < buf.length) {
      if (buf[i] !== 0xff) {
        i++;
        continue;
      }
      const marker = buf[i + 1]!;
      const len = buf.readUInt16BE(i + 2);
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { format: 'jpeg', height: buf.readUInt16BE(i + 5), width: buf.readUInt16BE(i + 7) };
      }
      i += 2 + len;
    }
    throw bad('image: JPEG without a frame header');
  }
  throw bad('image: not a PNG or JPEG');
}

export function decodeImage(base64OrDataUrl: string, maxPixels = MAX_IMAGE_PIXELS): RgbaImage {
  const buf = Buffer.from(base64OrDataUrl.replace(DATA_URL, '').replace(/\s+/g, ''), 'base64');
  const { format, width, height } = peekSize(buf);
  if (width <= 0 || height <= 0) throw bad(`image: invalid size ${width}x${height}`);
  if (width * height > maxPixels) throw bad(`image: ${width}x${height} is over the limit of ${maxPixels} pixels`);
  try {
    if (format === 'png') {
      const png = PNG.sync.read(buf);
      return { width: png.width, height: png.height, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
    }
    const img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: maxPixels / 1e6, maxMemoryUsageInMB: 1024 });
    return { width: img.width, height: img.height, data: img.data };
  } catch (err) {
    throw bad(`image: cannot decode ${format.toUpperCase()}: ${(err as Error).message}`);
  }
}
