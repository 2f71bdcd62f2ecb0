package taskwire.worker.handlers;

import java.awt.image.BufferedImage;

/**
 * A JPEG's EXIF orientation, applied once at decode as sharp's autoOrient (and Pillow's
 * exif_transpose, the Go worker's image_exif.go): ImageIO decodes the pixels as stored, so a phone
 * photo taken upright would come out on its side. Only IFD0's Orientation tag (0x0112) of the APP1
 * `Exif` segment is read, in either byte order; anything missing or unreadable means 1 (as stored).
 */
final class ImageExif {
  private ImageExif() {}

  /** The Orientation (1-8) of JPEG bytes d; 1 when there is none. */
  static int orientation(byte[] d) {
    if (d.length < 4 || u8(d, 0) != 0xFF || u8(d, 1) != 0xD8) return 1;
    int i = 2;
    while (i + 4 <= d.length) {
      if (u8(d, i) != 0xFF) return 1;
      int marker = u8(d, i + 1);
      if (marker == 0xFF) { // fill byte
        i++;
        continue;
      }
      if (marker == 0xDA || marker == 0xD9) return 1; // the scan (or the end): no metadata after it
      if ((marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) { // segments without a length
        i += 2;
        continue;
      }
      int len = u16(d, i + 2, false);
      if (len < 2 || i + 2 + len > d.length) return 1;
      if (marker == 0xE1 && len >= 8 && d[i + 4] == 'E' && d[i + 5] == 'x' && d[i + 6] == 'i' && d[i + 7] == 'f' && d[i + 8] == 0 && d[i + 9] == 0) {
        return tiff(d, i + 10, i + 2 + len);
      }
      i += 2 + len;
    }
    return 1;
  }

  /** IFD0's Orientation in the TIFF structure d[start, end). */
  private static int tiff(byte[] d, int start, int end) {
    if (start + 8 > end) return 1;
    boolean le;
    if (d[start] == 'I' && d[start + 1] == 'I') le = true;
    else if (d[start] == 'M' && d[start + 1] == 'M') le = false;
    else return 1;
    if (u16(d, start + 2, le) != 42) return 1;
    long ifd = u32(d, start + 4, le);
    if (ifd < 8 || start + ifd + 2 > end) return 1;
    int p = start + (int) ifd;
    int n = u16(d, p, le);
    for (int k = 0; k < n; k++) {
      int e = p + 2 + 12 * k;
      if (e + 12 > end) return 1;
      if (u16(d, e, le) != 0x0112) continue;
      if (u16(d, e + 2, le) != 3) return 1; // SHORT, or it is not an orientation we know
      int v = u16(d, e + 8, le);
      return v >= 1 && v <= 8 ? v : 1;
    }
    return 1;
  }

  /** img turned upright for orientation o (EXIF's numbering: 2 mirrored, 3 upside down, 6 to turn 90° clockwise, ...). */
  static BufferedImage apply(BufferedImage img, int o) {
    int w = img.getWidth();
    int h = img.getHeight();
    switch (o) {
      case 2:
        return ImageOps.flip(img, "horizontal");
      case 3:
        return ImagePixels.remap(img, w, h, (x, y) -> (h - 1 - y) * w + (w - 1 - x));
      case 4:
        return ImageOps.flip(img, "vertical");
      case 5: // transpose: mirrored across the top-left to bottom-right diagonal
        return ImagePixels.remap(img, h, w, (x, y) -> x * w + y);
      case 6: // 90° clockwise
        return ImagePixels.remap(img, h, w, (x, y) -> (h - 1 - x) * w + y);
      case 7: // transverse: across the other diagonal
        return ImagePixels.remap(img, h, w, (x, y) -> (h - 1 - x) * w + (w - 1 - y));
      case 8: // 90° counter-clockwise
        return ImagePixels.remap(img, h, w, (x, y) -> x * w + (w - 1 - y));
      default:
        return img;
    }
  }

  private static int u8(byte[] d, int i) {
    return d[i] & 0xff;
  }

  private static int u16(byte[] d, int i, boolean le) {
    return le ? u8(d, i) | u8(d, i + 1) << 8 : u8(d, i) << 8 | u8(d, i + 1);
  }

  private static long u32(byte[] d, int i, boolean le) {
    return le ? (u16(d, i, true) | (long) u16(d, i + 2, true) << 16) : ((long) u16(d, i, false) << 16 | u16(d, i + 2, false));
  }
}
