package taskwire.worker.handlers;

import static taskwire.worker.handlers.ImagePixels.ARGB;
import static taskwire.worker.handlers.ImagePixels.GRAY;
import static taskwire.worker.handlers.ImagePixels.blank;
import static taskwire.worker.handlers.ImagePixels.bytes;
import static taskwire.worker.handlers.ImagePixels.clamp8;
import static taskwire.worker.handlers.ImagePixels.ints;

import java.awt.AlphaComposite;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.image.AffineTransformOp;
import java.awt.image.BufferedImage;
import java.awt.image.ConvolveOp;
import java.awt.image.Kernel;
import java.util.Map;
import taskwire.worker.TaskFailure;

/**
 * One operation of the chain on a decoded image (ImagePixels' layouts), in the order given, with
 * the TypeScript worker's semantics (sharp, worker/handlers/image/image-ops.ts) where Java2D
 * allows: resize fits as sharp's, rotate clockwise with black / transparent corners, edge
 * convolutions clamp at the image's edges. Each operation answers a new image.
 */
final class ImageOps {
  static final Map<String, float[]> EDGE = Map.of(
      "laplacian", new float[] {-1, -1, -1, -1, 8, -1, -1, -1, -1},
      "sobel_x", new float[] {-1, 0, 1, -2, 0, 2, -1, 0, 1},
      "sobel_y", new float[] {-1, -2, -1, 0, 0, 0, 1, 2, 1});
  /** Unsharp mask amount: out = in + AMOUNT * (in - blurred), as the Python worker's 150 %. */
  static final double SHARPEN_AMOUNT = 1.5;

  private ImageOps() {}

  /** op (the index-th of the chain) on img; no step may make more than maxPixels pixels. */
  static BufferedImage apply(BufferedImage img, ImageChain.Op op, int index, long maxPixels) throws TaskFailure {
    String p = "ops." + index;
    switch (op.op) {
      case "resize":
        return resize(img, op.width, op.height, op.fit, p, maxPixels);
      case "crop":
        if ((long) op.left + op.width > img.getWidth() || (long) op.top + op.height > img.getHeight()) {
          throw ImageChain.bad(p, "crop " + op.width + "x" + op.height + "+" + op.left + "+" + op.top + " is outside the "
              + img.getWidth() + "x" + img.getHeight() + " image");
        }
        return ImagePixels.crop(img, op.left, op.top, op.width, op.height);
      case "rotate":
        return rotate(img, op.angle, p, maxPixels);
      case "flip":
        return flip(img, op.direction);
      case "blur":
        return blur(img, op.sigma);
      case "sharpen":
        return sharpen(img, op.sigma);
      case "brightness":
        return lut(img, v -> v * op.factor);
      case "contrast": // stretch around mid-grey, as the TypeScript worker: out = f * in + 128 * (1 - f)
        return lut(img, v -> op.factor * v + 128 * (1 - op.factor));
      case "saturation":
        return saturation(img, op.factor);
      case "grayscale":
        return grayscale(img);
      case "edge":
        return edge(img, EDGE.get(op.kernel));
      default: // format: applied when encoding
        return img;
    }
  }

  static void bound(long w, long h, String p, long maxPixels) throws TaskFailure {
    if (w * h > maxPixels) throw ImageChain.bad(p, w + "x" + h + " would be more than " + maxPixels + " pixels (TASKWIRE_IMAGE_MAX_PIXELS)");
  }

  /** sharp's fits: fill stretches, inside / outside keep the aspect within / around the box, cover crops the centre, contain pads. */
  static BufferedImage resize(BufferedImage img, Integer width, Integer height, String fit, String p, long maxPixels) throws TaskFailure {
    int iw = img.getWidth();
    int ih = img.getHeight();
    int w = width != null ? width : (int) Math.max(1, Math.round((double) iw * height / ih));
    int h = height != null ? height : (int) Math.max(1, Math.round((double) ih * width / iw));
    bound(w, h, p, maxPixels);
    if (fit.equals("fill")) return scale(img, w, h);
    double sx = (double) w / iw;
    double sy = (double) h / ih;
    double s = fit.equals("inside") || fit.equals("contain") ? Math.min(sx, sy) : Math.max(sx, sy);
    int nw = (int) Math.max(1, Math.round(iw * s));
    int nh = (int) Math.max(1, Math.round(ih * s));
    if (fit.equals("cover")) {
      nw = Math.max(nw, w);
      nh = Math.max(nh, h);
    } else if (fit.equals("contain")) {
      nw = Math.min(nw, w);
      nh = Math.min(nh, h);
    }
    bound(nw, nh, p, maxPixels);
    BufferedImage scaled = scale(img, nw, nh);
    if (fit.equals("inside") || fit.equals("outside")) return scaled;
    if (fit.equals("cover")) return ImagePixels.crop(scaled, (nw - w) / 2, (nh - h) / 2, w, h);
    // contain: letterboxed on black (transparent with alpha), the blank's zeros
    BufferedImage canvas = blank(scaled.getType(), w, h);
    int left = (w - nw) / 2;
    int top = (h - nh) / 2;
    if (scaled.getType() == GRAY) {
      byte[] s8 = bytes(scaled);
      byte[] d8 = bytes(canvas);
      for (int y = 0; y < nh; y++) System.arraycopy(s8, y * nw, d8, (y + top) * w + left, nw);
    } else {
      int[] s32 = ints(scaled);
      int[] d32 = ints(canvas);
      for (int y = 0; y < nh; y++) System.arraycopy(s32, y * nw, d32, (y + top) * w + left, nw);
    }
    return canvas;
  }

  /**
   * Scales to w x h: halves with bilinear while the image is at least twice the target (each
   * halving a 2x2 area average, so a large reduction does not alias as one bicubic step would),
   * then one bicubic step to the exact size.
   */
  static BufferedImage scale(BufferedImage img, int w, int h) {
    BufferedImage cur = img;
    while (cur.getWidth() >= 2 * w || cur.getHeight() >= 2 * h) {
      int nw = cur.getWidth() >= 2 * w ? cur.getWidth() / 2 : cur.getWidth();
      int nh = cur.getHeight() >= 2 * h ? cur.getHeight() / 2 : cur.getHeight();
      cur = draw(cur, nw, nh, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
    }
    if (cur.getWidth() == w && cur.getHeight() == h) return cur == img ? ImagePixels.crop(img, 0, 0, w, h) : cur;
    return draw(cur, w, h, RenderingHints.VALUE_INTERPOLATION_BICUBIC);
  }

  private static BufferedImage draw(BufferedImage src, int w, int h, Object interpolation) {
    BufferedImage dst = blank(src.getType(), w, h);
    Graphics2D g = dst.createGraphics();
    try {
      g.setComposite(AlphaComposite.Src);
      g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, interpolation);
      g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
      g.drawImage(src, 0, 0, w, h, null);
    } finally {
      g.dispose();
    }
    return dst;
  }

  /** Clockwise by angle degrees (as sharp); multiples of 90 move pixels exactly, other angles are bicubic into the enlarged bounds. */
  static BufferedImage rotate(BufferedImage img, double angle, String p, long maxPixels) throws TaskFailure {
    int w = img.getWidth();
    int h = img.getHeight();
    double a = ((angle % 360) + 360) % 360;
    if (a == 0) return ImagePixels.crop(img, 0, 0, w, h);
    if (a == 90) return ImagePixels.remap(img, h, w, (x, y) -> (h - 1 - x) * w + y);
    if (a == 180) return ImagePixels.remap(img, w, h, (x, y) -> (h - 1 - y) * w + (w - 1 - x));
    if (a == 270) return ImagePixels.remap(img, h, w, (x, y) -> x * w + (w - 1 - y));
    double rad = Math.toRadians(a);
    double cos = Math.abs(Math.cos(rad));
    double sin = Math.abs(Math.sin(rad));
    int nw = (int) Math.ceil(w * cos + h * sin - 1e-9);
    int nh = (int) Math.ceil(w * sin + h * cos - 1e-9);
    bound(nw, nh, p, maxPixels);
    AffineTransform t = new AffineTransform();
    t.translate(nw / 2.0, nh / 2.0);
    t.rotate(rad); // y points down: a positive angle turns clockwise on screen
    t.translate(-w / 2.0, -h / 2.0);
    // The corners no source pixel reaches keep the blank's zeros: black, or transparent with alpha.
    return new AffineTransformOp(t, AffineTransformOp.TYPE_BICUBIC).filter(img, blank(img.getType(), nw, nh));
  }

  static BufferedImage flip(BufferedImage img, String direction) {
    int w = img.getWidth();
    int h = img.getHeight();
    boolean v = !direction.equals("horizontal"); // sharp's flip: about the horizontal axis (upside down)
    boolean hz = !direction.equals("vertical"); // flop: mirror left-right
    return ImagePixels.remap(img, w, h, (x, y) -> (v ? h - 1 - y : y) * w + (hz ? w - 1 - x : x));
  }

  /**
   * Gaussian blur as two 1-D ConvolveOps (rows, then columns), each on the image padded with its
   * edge pixels so the edges are not darkened. The kernel reaches 3 sigma, at most the image's
   * longer side (beyond that it would only weigh repeated edge pixels).
   */
  static BufferedImage blur(BufferedImage img, double sigma) {
    int r = (int) Math.min(Math.ceil(3 * sigma), Math.max(img.getWidth(), img.getHeight()));
    if (r < 1) return ImagePixels.crop(img, 0, 0, img.getWidth(), img.getHeight());
    float[] k = new float[2 * r + 1];
    double sum = 0;
    for (int i = -r; i <= r; i++) sum += Math.exp(-(i * (double) i) / (2 * sigma * sigma));
    // A hair above 1 in all: ConvolveOp truncates, and a float sum just under 1 would darken a flat area by one level a pass.
    for (int i = -r; i <= r; i++) k[i + r] = (float) (Math.exp(-(i * (double) i) / (2 * sigma * sigma)) / sum * (1 + 1e-5));
    BufferedImage rows = convolve(img, new Kernel(k.length, 1, k), r, 0);
    return convolve(rows, new Kernel(1, k.length, k), 0, r);
  }

  /** One ConvolveOp over img padded by (px, py) edge pixels, the padding cut off again. */
  private static BufferedImage convolve(BufferedImage img, Kernel k, int px, int py) {
    BufferedImage padded = ImagePixels.pad(img, px, py);
    BufferedImage out = new ConvolveOp(k, ConvolveOp.EDGE_NO_OP, null).filter(padded, blank(img.getType(), padded.getWidth(), padded.getHeight()));
    return ImagePixels.crop(out, px, py, img.getWidth(), img.getHeight());
  }

  /** Unsharp mask: the colour moved away from its Gaussian blur of sigma; alpha as it was. */
  static BufferedImage sharpen(BufferedImage img, double sigma) {
    BufferedImage blurred = blur(img, sigma);
    BufferedImage out = blank(img.getType(), img.getWidth(), img.getHeight());
    if (img.getType() == GRAY) {
      byte[] s = bytes(img);
      byte[] b = bytes(blurred);
      byte[] d = bytes(out);
      for (int i = 0; i < d.length; i++) d[i] = (byte) unsharp(s[i] & 0xff, b[i] & 0xff);
      return out;
    }
    int[] s = ints(img);
    int[] b = ints(blurred);
    int[] d = ints(out);
    for (int i = 0; i < d.length; i++) {
      int c = s[i];
      int q = b[i];
      d[i] = (c & 0xff000000) | (unsharp(c >> 16 & 0xff, q >> 16 & 0xff) << 16) | (unsharp(c >> 8 & 0xff, q >> 8 & 0xff) << 8) | unsharp(c & 0xff, q & 0xff);
    }
    return out;
  }

  private static int unsharp(int v, int blurred) {
    return clamp8(v + SHARPEN_AMOUNT * (v - blurred));
  }

  interface Level {
    double map(int v);
  }

  /** f on each colour band (a 256-entry table), alpha as it was: brightness, contrast. */
  static BufferedImage lut(BufferedImage img, Level f) {
    int[] t = new int[256];
    for (int v = 0; v < 256; v++) t[v] = clamp8(f.map(v));
    BufferedImage out = blank(img.getType(), img.getWidth(), img.getHeight());
    if (img.getType() == GRAY) {
      byte[] s = bytes(img);
      byte[] d = bytes(out);
      for (int i = 0; i < d.length; i++) d[i] = (byte) t[s[i] & 0xff];
      return out;
    }
    int[] s = ints(img);
    int[] d = ints(out);
    for (int i = 0; i < d.length; i++) {
      int c = s[i];
      d[i] = (c & 0xff000000) | (t[c >> 16 & 0xff] << 16) | (t[c >> 8 & 0xff] << 8) | t[c & 0xff];
    }
    return out;
  }

  /** Rec. 601 luma of 8-bit sRGB values (as Pillow's `L`). */
  static double luma(int c) {
    return 0.299 * (c >> 16 & 0xff) + 0.587 * (c >> 8 & 0xff) + 0.114 * (c & 0xff);
  }

  /** Each colour moved from its grey (luma) by factor: 0 grey, 1 unchanged; a grey image stays as it is. */
  static BufferedImage saturation(BufferedImage img, double f) {
    if (img.getType() == GRAY) return ImagePixels.crop(img, 0, 0, img.getWidth(), img.getHeight());
    BufferedImage out = blank(img.getType(), img.getWidth(), img.getHeight());
    int[] s = ints(img);
    int[] d = ints(out);
    for (int i = 0; i < d.length; i++) {
      int c = s[i];
      double l = luma(c);
      d[i] = (c & 0xff000000) | (clamp8(l + f * ((c >> 16 & 0xff) - l)) << 16) | (clamp8(l + f * ((c >> 8 & 0xff) - l)) << 8) | clamp8(l + f * ((c & 0xff) - l));
    }
    return out;
  }

  /**
   * One channel (TYPE_BYTE_GRAY, so a PNG of it has one channel). The luma is computed here rather
   * than with ColorConvertOp, which converts through linear light and darkens the mid-tones. With
   * alpha the image stays ARGB with equal colour bands (Java2D has no grey + alpha layout the other
   * operations could use).
   */
  static BufferedImage grayscale(BufferedImage img) {
    int w = img.getWidth();
    int h = img.getHeight();
    if (img.getType() == GRAY) return ImagePixels.crop(img, 0, 0, w, h);
    int[] s = ints(img);
    if (img.getType() == ARGB) {
      BufferedImage out = blank(ARGB, w, h);
      int[] d = ints(out);
      for (int i = 0; i < d.length; i++) {
        int l = clamp8(luma(s[i]));
        d[i] = (s[i] & 0xff000000) | (l << 16) | (l << 8) | l;
      }
      return out;
    }
    BufferedImage out = blank(GRAY, w, h);
    byte[] d = bytes(out);
    for (int i = 0; i < d.length; i++) d[i] = (byte) clamp8(luma(s[i]));
    return out;
  }

  /** A 3x3 convolution (ConvolveOp, results clamped to 0..255) of the colour bands; the edges repeat, alpha is kept. */
  static BufferedImage edge(BufferedImage img, float[] kernel) {
    // ConvolveOp turns its kernel by 180 degrees (a true convolution); libvips applies it as written
    // (sobel_x is bright where the image gets brighter to the right), so hand it over turned.
    float[] turned = new float[9];
    for (int i = 0; i < 9; i++) turned[i] = kernel[8 - i];
    Kernel k = new Kernel(3, 3, turned);
    if (img.getType() != ARGB) return convolve(img, k, 1, 1);
    // ConvolveOp would convolve alpha too: these kernels sum to 0, so an opaque image would vanish.
    return ImagePixels.withAlphaOf(convolve(ImagePixels.withoutAlpha(img), k, 1, 1), img);
  }
}
