package taskwire.worker.handlers;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.ImageOutputStream;
import taskwire.worker.TaskFailure;

/**
 * Decoding (bounded) and encoding with javax.imageio. ImageIO reads PNG, JPEG, GIF, BMP, WBMP and
 * TIFF, and writes PNG and JPEG of what the worker serves (no WebP or AVIF encoder in the JDK).
 */
final class ImageCodec {
  /** sharp's default JPEG quality (ImageIO's own is 75). */
  static final int DEFAULT_JPEG_QUALITY = 80;

  static {
    ImageIO.setUseCache(false); // in memory: no temporary files per image
  }

  private ImageCodec() {}

  /** The input-format names a worker may advertise (image:read:<format>, common/kinds/image-read.ts). */
  private static final List<String> READ_NAMES = List.of("jpeg", "png", "webp", "avif", "gif", "tiff", "bmp", "heif");

  /**
   * The input formats ImageIO has a reader for here, by the names of image-read.ts (sorted): the
   * JDK's own (png, jpeg, gif, bmp, tiff) and any plugin's on the class path (a webp plugin would
   * add webp), so the master places an input only on a worker whose ImageIO reads it.
   */
  static List<String> readFormats() {
    TreeSet<String> out = new TreeSet<>();
    for (String n : ImageIO.getReaderFormatNames()) {
      String name = n.toLowerCase(Locale.ROOT);
      if (name.equals("jpg")) name = "jpeg";
      if (name.equals("tif")) name = "tiff";
      if (READ_NAMES.contains(name)) out.add(name);
    }
    return List.copyOf(out);
  }

  static final class Decoded {
    final BufferedImage image;
    /** "png" or "jpeg" when the input was one (kept without a format operation), else "png". */
    final String format;

    Decoded(BufferedImage image, String format) {
      this.image = image;
      this.format = format;
    }
  }

  /**
   * The first image of data in one of ImagePixels' layouts. Its size is read from the header
   * before any pixel is decoded: more than maxPixels is refused there (a decompression bomb never
   * gets its buffer). Whatever the decoder throws on a corrupt or truncated input is BAD_INPUT.
   */
  static Decoded decode(byte[] data, long maxPixels) throws TaskFailure {
    try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(data))) {
      Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
      if (!readers.hasNext()) throw ImageChain.bad("blob", "not a readable image (this worker reads PNG, JPEG, GIF, BMP and TIFF)");
      ImageReader r = readers.next();
      try {
        r.setInput(in, true, true);
        long w = r.getWidth(0);
        long h = r.getHeight(0);
        if (w * h > maxPixels) throw ImageChain.bad("blob", "image too large: " + w + "x" + h + " is more than " + maxPixels + " pixels (TASKWIRE_IMAGE_MAX_PIXELS)");
        String name = r.getFormatName().toLowerCase(Locale.ROOT);
        BufferedImage img = ImagePixels.normalize(r.read(0));
        boolean jpeg = name.equals("jpeg") || name.equals("jpg");
        // Upright once, before the chain, as sharp's autoOrient (ImageIO ignores EXIF).
        return new Decoded(jpeg ? ImageExif.apply(img, ImageExif.orientation(data)) : img, jpeg ? "jpeg" : "png");
      } finally {
        r.dispose();
      }
    } catch (IOException | RuntimeException e) {
      throw ImageChain.bad("blob", "not a readable image: " + e.getMessage());
    }
  }

  /** img as png or jpeg (quality 1-100, null: DEFAULT_JPEG_QUALITY; JPEG has no alpha: flattened onto black, as sharp). */
  static byte[] encode(BufferedImage img, String format, Integer quality) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    if (format.equals("png")) {
      if (!ImageIO.write(img, "png", out)) throw new IOException("no PNG writer");
      return out.toByteArray();
    }
    ImageWriter w = ImageIO.getImageWritersByFormatName("jpeg").next();
    try (ImageOutputStream ios = ImageIO.createImageOutputStream(out)) {
      w.setOutput(ios);
      ImageWriteParam p = w.getDefaultWriteParam();
      p.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
      p.setCompressionQuality((quality != null ? quality : DEFAULT_JPEG_QUALITY) / 100f);
      w.write(null, new IIOImage(ImagePixels.onBlack(img), null, null), p);
    } finally {
      w.dispose();
    }
    return out.toByteArray();
  }
}
