package taskwire.worker.handlers;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A JPEG's EXIF orientation read from its APP1 segment and applied at decode, as sharp's autoOrient. */
class ImageExifTest {
  static final int RED = 0xff0000;
  static final int GREEN = 0x00ff00;
  static final int BLUE = 0x0000ff;
  static final int WHITE = 0xffffff;

  @BeforeAll
  static void headless() {
    System.setProperty("java.awt.headless", "true");
  }

  /** An APP1 Exif segment whose IFD0 holds other tags and then Orientation o. */
  static byte[] app1(int o, boolean le) {
    ByteArrayOutputStream t = new ByteArrayOutputStream();
    t.writeBytes(le ? new byte[] {'I', 'I', 42, 0, 8, 0, 0, 0} : new byte[] {'M', 'M', 0, 42, 0, 0, 0, 8});
    int[][] entries = {{0x010f, 2, 4, 0}, {0x0112, 3, 1, o}}; // Make (ASCII, unused), Orientation
    put16(t, entries.length, le);
    for (int[] e : entries) {
      put16(t, e[0], le);
      put16(t, e[1], le);
      put16(t, e[2], le);
      put16(t, 0, le);
      put16(t, e[3], le);
      put16(t, 0, le);
    }
    t.writeBytes(new byte[4]); // no next IFD
    byte[] tiff = t.toByteArray();
    ByteArrayOutputStream s = new ByteArrayOutputStream();
    s.writeBytes(new byte[] {(byte) 0xFF, (byte) 0xE1});
    int len = 2 + 6 + tiff.length;
    s.write(len >> 8);
    s.write(len & 0xff);
    s.writeBytes(new byte[] {'E', 'x', 'i', 'f', 0, 0});
    s.writeBytes(tiff);
    return s.toByteArray();
  }

  static void put16(ByteArrayOutputStream b, int v, boolean le) {
    if (le) {
      b.write(v & 0xff);
      b.write(v >> 8);
    } else {
      b.write(v >> 8);
      b.write(v & 0xff);
    }
  }

  /** jpeg with segment inserted right after SOI. */
  static byte[] withSegment(byte[] jpeg, byte[] segment) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    b.write(jpeg, 0, 2);
    b.writeBytes(segment);
    b.write(jpeg, 2, jpeg.length - 2);
    return b.toByteArray();
  }

  /** 32x16 as stored: red | green over blue | white. */
  static byte[] quadrants() throws Exception {
    BufferedImage img = new BufferedImage(32, 16, ImagePixels.RGB);
    for (int y = 0; y < 16; y++) for (int x = 0; x < 32; x++) img.setRGB(x, y, y < 8 ? (x < 16 ? RED : GREEN) : (x < 16 ? BLUE : WHITE));
    return ImageCodec.encode(img, "jpeg", 95);
  }

  static int nearest(int c) {
    int best = 0;
    long bestD = Long.MAX_VALUE;
    for (int k : new int[] {RED, GREEN, BLUE, WHITE}) {
      long d = 0;
      for (int s = 0; s < 24; s += 8) d += (long) ((c >> s & 0xff) - (k >> s & 0xff)) * ((c >> s & 0xff) - (k >> s & 0xff));
      if (d < bestD) {
        bestD = d;
        best = k;
      }
    }
    return best;
  }

  @Test
  void readsTheOrientationInEitherByteOrderAndOneOtherwise() throws Exception {
    byte[] jpeg = quadrants();
    for (int o = 1; o <= 8; o++) {
      assertEquals(o, ImageExif.orientation(withSegment(jpeg, app1(o, false))), "big-endian " + o);
      assertEquals(o, ImageExif.orientation(withSegment(jpeg, app1(o, true))), "little-endian " + o);
    }
    assertEquals(1, ImageExif.orientation(jpeg), "no EXIF");
    assertEquals(1, ImageExif.orientation(withSegment(jpeg, app1(9, true))), "not an orientation");
    byte[] cut = withSegment(jpeg, app1(6, false));
    assertEquals(1, ImageExif.orientation(Arrays.copyOf(cut, 30)), "truncated segment");
    assertEquals(1, ImageExif.orientation("not a jpeg at all".getBytes()));
  }

  @Test
  void decodeTurnsEachOrientationUpright() throws Exception {
    byte[] jpeg = quadrants();
    // orientation -> the colours seen top-left and top-right once upright
    int[][] expect = {{1, RED, GREEN}, {2, GREEN, RED}, {3, WHITE, BLUE}, {4, BLUE, WHITE}, {5, RED, BLUE}, {6, BLUE, RED}, {7, WHITE, GREEN}, {8, GREEN, WHITE}};
    for (int[] e : expect) {
      BufferedImage img = ImageCodec.decode(withSegment(jpeg, app1(e[0], e[0] % 2 == 0)), 1_000_000).image;
      boolean turned = e[0] >= 5;
      assertEquals(turned ? "16x32" : "32x16", img.getWidth() + "x" + img.getHeight(), "orientation " + e[0]);
      int w = img.getWidth();
      int h = img.getHeight();
      assertEquals(Integer.toHexString(e[1]), Integer.toHexString(nearest(img.getRGB(w / 4, h / 4))), "orientation " + e[0] + " top-left");
      assertEquals(Integer.toHexString(e[2]), Integer.toHexString(nearest(img.getRGB(3 * w / 4, h / 4))), "orientation " + e[0] + " top-right");
    }
  }
}
