/**
 * Input formats of the `image` kind: which formats a worker may say it reads
 * (`image:read:<format>` in WorkerStatus.features), which of them an image
 * task needs, and the format of an input from its first bytes.
 *
 * Workers differ in what they decode (the Java worker's ImageIO has no webp
 * or avif decoder, Pillow reads what its build has), and the chain alone does
 * not say what the input is: the master reads the input blob's first bytes at
 * submit (master/blobs/blob-read-features.ts) and the task needs the read
 * feature of that format, so it is placed only on a worker that decodes it.
 *
 * jpeg and png need no read feature: every image worker reads them (the
 * conformance suite's image checks use them), so a worker from before read
 * features, advertising only `op:` and `format:`, keeps getting them. Every
 * other format does; a worker advertises all it reads, jpeg and png included.
 * The bytes, not the blob's content type, decide: `POST /blobs` keeps the
 * type the client declared.
 */

/** The names a worker advertises as `image:read:<format>`; `heif` is HEIF other than AVIF (HEIC). */
export const IMAGE_READ_FORMATS = ['jpeg', 'png', 'webp', 'avif', 'gif', 'tiff', 'bmp', 'heif'] as const;
export type ImageReadFormat = (typeof IMAGE_READ_FORMATS)[number];

/** Read by every image worker: a task of such an input needs no read feature. */
export const BASELINE_READ_FORMATS: readonly ImageReadFormat[] = ['jpeg', 'png'];

/** Bytes of an input enough to tell its format (`sniffImageFormat`). */
export const IMAGE_SNIFF_BYTES = 32;

const ascii = (b: Uint8Array, at: number, s: string): boolean => {
  if (b.length < at + s.length) return false;
  for (let i = 0; i < s.length; i++) if (b[at + i] !== s.charCodeAt(i)) return false;
  return true;
};

/** ISO-BMFF brands of AVIF (still and sequence); any other `ftyp` image brand is `heif`. */
const AVIF_BRANDS = new Set(['avif', 'avis']);
const HEIF_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'msf1']);

/**
 * The format of an image from its first bytes (at least IMAGE_SNIFF_BYTES
 * when there are that many), by magic number; undefined when it is none of
 * IMAGE_READ_FORMATS (not an image: it fails on any worker with BAD_INPUT).
 */
export function sniffImageFormat(head: Uint8Array): ImageReadFormat | undefined {
  const b = head;
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 8 && b[0] === 0x89 && ascii(b, 1, 'PNG\r\n\u001a\n')) return 'png';
  if (ascii(b, 0, 'RIFF') && ascii(b, 8, 'WEBP')) return 'webp';
  if (ascii(b, 0, 'GIF87a') || ascii(b, 0, 'GIF89a')) return 'gif';
  if (ascii(b, 0, 'II*\u0000') || ascii(b, 0, 'MM\u0000*')) return 'tiff';
  if (ascii(b, 0, 'BM') && b.length >= 14) return 'bmp';
  if (ascii(b, 4, 'ftyp') && b.length >= 12) {
    // The major brand, then the compatible brands within the box (an AVIF may name mif1 first).
    const boxEnd = Math.min(b.length, ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0);
    const brands = [String.fromCharCode(...b.subarray(8, 12))];
    for (let at = 16; at + 4 <= boxEnd; at += 4) brands.push(String.fromCharCode(...b.subarray(at, at + 4)));
    if (brands.some((x) => AVIF_BRANDS.has(x))) return 'avif';
    if (brands.some((x) => HEIF_BRANDS.has(x))) return 'heif';
  }
  return undefined;
}

/** What an image task of an input in `format` needs to be read: `read:<format>`, nothing for jpeg, png or an unknown format. */
export function imageReadFeatures(format: ImageReadFormat | undefined): string[] {
  return format === undefined || BASELINE_READ_FORMATS.includes(format) ? [] : [`read:${format}`];
}

/** A worker's read features, `image:read:<format>`, from the formats it decodes (names outside IMAGE_READ_FORMATS dropped). */
export function imageReadAdvert(formats: Iterable<string>): string[] {
  const known = new Set<string>(IMAGE_READ_FORMATS);
  return [...new Set([...formats].filter((f) => known.has(f)))].sort().map((f) => `image:read:${f}`);
}
