package taskwire.worker.handlers;

import java.awt.AlphaComposite;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.awt.image.DataBufferInt;
import java.awt.image.Raster;

/**
 * The three pixel layouts the image operations work on, and direct access to their pixels. Every
 * image the operations hand on is made here (`blank`), so its data buffer is one array of
 * width x height elements with no offset: TYPE_BYTE_GRAY (one channel), TYPE_INT_RGB and
 * TYPE_INT_ARGB (non-premultiplied alpha).
 */
final class ImagePixels {
  static final int GRAY = BufferedImage.TYPE_BYTE_GRAY;
  static final int RGB = BufferedImage.TYPE_INT_RGB;
  static final int ARGB = BufferedImage.TYPE_INT_ARGB;

  private ImagePixels() {}

  static BufferedImage blank(int type, int w, int h) {
    return new BufferedImage(w, h, type);
  }

  static int[] ints(BufferedImage img) {
    return ((DataBufferInt) img.getRaster().getDataBuffer()).getData();
  }

  static byte[] bytes(BufferedImage img) {
    return ((DataBufferByte) img.getRaster().getDataBuffer()).getData();
  }

  /** The linear source index of destination pixel (x, y). */
  interface IndexMap {
    int at(int x, int y);
  }

  /** A new w x h image of src's layout, each pixel copied from the source pixel m names (crop, flip, quarter turns, padding). */
  static BufferedImage remap(BufferedImage src, int w, int h, IndexMap m) {
    BufferedImage dst = blank(src.getType(), w, h);
    int i = 0;
    if (src.getType() == GRAY) {
      byte[] s = bytes(src);
      byte[] d = bytes(dst);
      for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) d[i++] = s[m.at(x, y)];
    } else {
      int[] s = ints(src);
      int[] d = ints(dst);
      for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) d[i++] = s[m.at(x, y)];
    }
    return dst;
  }

  /** src with px columns and py rows repeated from its edges on each side (so a convolution clamps at the edges as libvips does). */
  static BufferedImage pad(BufferedImage src, int px, int py) {
    int w = src.getWidth();
    int h = src.getHeight();
    return remap(src, w + 2 * px, h + 2 * py, (x, y) -> clamp(y - py, 0, h - 1) * w + clamp(x - px, 0, w - 1));
  }

  static BufferedImage crop(BufferedImage src, int left, int top, int w, int h) {
    int sw = src.getWidth();
    return remap(src, w, h, (x, y) -> (y + top) * sw + x + left);
  }

  /**
   * A decoded image in one of the three layouts: grey (8 bit, no alpha) stays one channel,
   * anything with alpha becomes ARGB, the rest RGB. Grey with alpha (a PNG `LA`) is copied sample
   * by sample: Java2D would take its grey as linear light and brighten it.
   */
  static BufferedImage normalize(BufferedImage img) {
    boolean alpha = img.getColorModel().hasAlpha();
    boolean grey = img.getColorModel().getColorSpace().getType() == java.awt.color.ColorSpace.TYPE_GRAY;
    int w = img.getWidth();
    int h = img.getHeight();
    Raster r = img.getRaster();
    if (grey && r.getNumBands() <= 2 && r.getSampleModel().getSampleSize(0) == 8 && img.getType() != BufferedImage.TYPE_BYTE_INDEXED) {
      BufferedImage out = blank(alpha ? ARGB : GRAY, w, h);
      int[] g = r.getSamples(0, 0, w, h, 0, (int[]) null);
      if (!alpha) {
        byte[] d = bytes(out);
        for (int i = 0; i < g.length; i++) d[i] = (byte) g[i];
      } else {
        int[] a = r.getSamples(0, 0, w, h, 1, (int[]) null);
        int[] d = ints(out);
        for (int i = 0; i < g.length; i++) d[i] = (a[i] << 24) | (g[i] << 16) | (g[i] << 8) | g[i];
      }
      return out;
    }
    BufferedImage out = blank(alpha ? ARGB : RGB, w, h);
    Graphics2D g = out.createGraphics();
    try {
      g.setComposite(AlphaComposite.Src); // copy the alpha, do not blend onto the blank
      g.drawImage(img, 0, 0, null);
    } finally {
      g.dispose();
    }
    return out;
  }

  /** RGB of an ARGB image, alpha dropped and the colour kept (edge convolves the colour alone). */
  static BufferedImage withoutAlpha(BufferedImage img) {
    if (img.getType() != ARGB) return img;
    BufferedImage out = blank(RGB, img.getWidth(), img.getHeight());
    System.arraycopy(ints(img), 0, ints(out), 0, ints(out).length);
    return out;
  }

  /** RGB of an ARGB image flattened onto black, as sharp writes a JPEG of an image with alpha. */
  static BufferedImage onBlack(BufferedImage img) {
    if (img.getType() != ARGB) return img;
    BufferedImage out = blank(RGB, img.getWidth(), img.getHeight());
    int[] s = ints(img);
    int[] d = ints(out);
    for (int i = 0; i < d.length; i++) {
      int c = s[i];
      int a = c >>> 24;
      d[i] = ((c >> 16 & 0xff) * a + 127) / 255 << 16 | ((c >> 8 & 0xff) * a + 127) / 255 << 8 | ((c & 0xff) * a + 127) / 255;
    }
    return out;
  }

  /** rgb's colour with alpha's alpha (both of alpha's size). */
  static BufferedImage withAlphaOf(BufferedImage rgb, BufferedImage alpha) {
    BufferedImage out = blank(ARGB, rgb.getWidth(), rgb.getHeight());
    int[] c = ints(rgb);
    int[] a = ints(alpha);
    int[] d = ints(out);
    for (int i = 0; i < d.length; i++) d[i] = (a[i] & 0xff000000) | (c[i] & 0xffffff);
    return out;
  }

  static int clamp(int v, int lo, int hi) {
    return v < lo ? lo : v > hi ? hi : v;
  }

  static int clamp8(double v) {
    long r = Math.round(v);
    return r < 0 ? 0 : r > 255 ? 255 : (int) r;
  }
}
