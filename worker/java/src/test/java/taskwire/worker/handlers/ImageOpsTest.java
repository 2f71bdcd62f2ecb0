package taskwire.worker.handlers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.util.Arrays;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import taskwire.worker.TaskFailure;

/** Every operation, the decoder's bounds and the encoders on small synthetic images. */
class ImageOpsTest {
  static final long MAX = 100_000_000L;

  @BeforeAll
  static void headless() {
    System.setProperty("java.awt.headless", "true");
  }

  static BufferedImage solid(int type, int w, int h, int argb) {
    BufferedImage img = new BufferedImage(w, h, type);
    if (type == ImagePixels.GRAY) Arrays.fill(ImagePixels.bytes(img), (byte) argb);
    else Arrays.fill(ImagePixels.ints(img), argb);
    return img;
  }

  static int grey(BufferedImage img, int x, int y) {
    return img.getRaster().getSample(x, y, 0); // getRGB would convert "linear" grey to sRGB
  }

  static ImageChain.Op op(String json) throws Exception {
    return ImageChain.parse(ImageChainTest.input("[" + json + "]")).ops.get(0);
  }

  static BufferedImage run(BufferedImage img, String json) throws Exception {
    return ImageOps.apply(img, op(json), 0, MAX);
  }

  static void size(BufferedImage img, int w, int h) {
    assertEquals(w + "x" + h, img.getWidth() + "x" + img.getHeight());
  }

  @Test
  void resizeFitsAsSharp() throws Exception {
    BufferedImage img = solid(ImagePixels.RGB, 80, 40, 0xc81e1e);
    size(run(img, "{\"op\":\"resize\",\"width\":20,\"height\":20}"), 20, 20); // cover
    size(run(img, "{\"op\":\"resize\",\"width\":20,\"height\":20,\"fit\":\"fill\"}"), 20, 20);
    size(run(img, "{\"op\":\"resize\",\"width\":20,\"height\":20,\"fit\":\"inside\"}"), 20, 10);
    size(run(img, "{\"op\":\"resize\",\"width\":20,\"height\":20,\"fit\":\"outside\"}"), 40, 20);
    size(run(img, "{\"op\":\"resize\",\"width\":20}"), 20, 10);
    size(run(img, "{\"op\":\"resize\",\"height\":80}"), 160, 80);
    BufferedImage contain = run(img, "{\"op\":\"resize\",\"width\":20,\"height\":20,\"fit\":\"contain\"}");
    size(contain, 20, 20);
    assertEquals(0x000000, contain.getRGB(10, 0) & 0xffffff, "contain pads with black above");
    assertEquals(0xc81e1e, contain.getRGB(10, 10) & 0xffffff, "the image in the middle");
    // A uniform image stays uniform to its edges, down (area halving) and up (bicubic).
    for (String r : new String[] {"{\"op\":\"resize\",\"width\":7,\"height\":3,\"fit\":\"fill\"}", "{\"op\":\"resize\",\"width\":333,\"height\":71,\"fit\":\"fill\"}"}) {
      BufferedImage out = run(img, r);
      for (int y = 0; y < out.getHeight(); y++) for (int x = 0; x < out.getWidth(); x++) assertEquals(0xc81e1e, out.getRGB(x, y) & 0xffffff, r + " at " + x + "," + y);
    }
    TaskFailure f = assertThrows(TaskFailure.class, () -> ImageOps.apply(img, op("{\"op\":\"resize\",\"width\":16384,\"height\":16384,\"fit\":\"fill\"}"), 3, MAX));
    assertTrue(f.getMessage().startsWith("input.ops.3: 16384x16384 would be more than 100000000 pixels"), f.getMessage());
  }

  /** 4x2, every pixel its own value: x + 10 y (grey) or that in the blue band. */
  static BufferedImage numbered(int type) {
    BufferedImage img = new BufferedImage(4, 2, type);
    for (int y = 0; y < 2; y++) for (int x = 0; x < 4; x++) {
      if (type == ImagePixels.GRAY) img.getRaster().setSample(x, y, 0, x + 10 * y);
      else img.setRGB(x, y, 0xff000000 | (x + 10 * y));
    }
    return img;
  }

  static int at(BufferedImage img, int x, int y) {
    return img.getType() == ImagePixels.GRAY ? grey(img, x, y) : img.getRGB(x, y) & 0xff;
  }

  @Test
  void cropFlipAndQuarterTurnsMovePixelsExactly() throws Exception {
    for (int type : new int[] {ImagePixels.GRAY, ImagePixels.RGB, ImagePixels.ARGB}) {
      BufferedImage img = numbered(type);
      BufferedImage c = run(img, "{\"op\":\"crop\",\"left\":1,\"top\":1,\"width\":2,\"height\":1}");
      size(c, 2, 1);
      assertEquals(11, at(c, 0, 0));
      assertEquals(12, at(c, 1, 0));
      BufferedImage r90 = run(img, "{\"op\":\"rotate\",\"angle\":90}");
      size(r90, 2, 4);
      assertEquals(0, at(r90, 1, 0), "clockwise: the top-left pixel goes to the top-right");
      assertEquals(10, at(r90, 0, 0));
      assertEquals(3, at(r90, 1, 3));
      BufferedImage r180 = run(img, "{\"op\":\"rotate\",\"angle\":-180}");
      assertEquals(13, at(r180, 0, 0));
      assertEquals(0, at(r180, 3, 1));
      BufferedImage r270 = run(img, "{\"op\":\"rotate\",\"angle\":-90}");
      size(r270, 2, 4);
      assertEquals(3, at(r270, 0, 0));
      assertEquals(0, at(r270, 0, 3));
      assertEquals(10, at(run(img, "{\"op\":\"flip\"}"), 0, 0), "vertical: upside down");
      assertEquals(3, at(run(img, "{\"op\":\"flip\",\"direction\":\"horizontal\"}"), 0, 0));
      assertEquals(13, at(run(img, "{\"op\":\"flip\",\"direction\":\"both\"}"), 0, 0));
      assertEquals(type, r90.getType());
    }
    TaskFailure f = assertThrows(TaskFailure.class, () -> ImageOps.apply(numbered(ImagePixels.RGB), op("{\"op\":\"crop\",\"left\":3,\"top\":0,\"width\":2,\"height\":2}"), 2, MAX));
    assertEquals("BAD_INPUT", f.code);
    assertTrue(f.getMessage().startsWith("input.ops.2: crop 2x2+3+0 is outside the 4x2 image"), f.getMessage());
  }

  @Test
  void rotateAnyAngleEnlargesWithBlackOrTransparentCorners() throws Exception {
    BufferedImage rgb = run(solid(ImagePixels.RGB, 40, 20, 0x3050c0), "{\"op\":\"rotate\",\"angle\":30}");
    size(rgb, (int) Math.ceil(40 * Math.cos(Math.PI / 6) + 20 * 0.5 - 1e-9), (int) Math.ceil(40 * 0.5 + 20 * Math.cos(Math.PI / 6) - 1e-9));
    assertEquals(0, rgb.getRGB(0, 0) & 0xffffff, "corner black");
    assertEquals(0x3050c0, rgb.getRGB(rgb.getWidth() / 2, rgb.getHeight() / 2) & 0xffffff, "centre keeps its colour");
    BufferedImage argb = run(solid(ImagePixels.ARGB, 40, 20, 0xff3050c0), "{\"op\":\"rotate\",\"angle\":-30}");
    assertEquals(0, argb.getRGB(0, 0) >>> 24, "corner transparent");
    assertEquals(0xff3050c0, argb.getRGB(argb.getWidth() / 2, argb.getHeight() / 2));
    BufferedImage g = run(solid(ImagePixels.GRAY, 40, 20, 200), "{\"op\":\"rotate\",\"angle\":45}");
    assertEquals(ImagePixels.GRAY, g.getType());
    assertEquals(0, grey(g, 0, 0));
    assertEquals(200, grey(g, g.getWidth() / 2, g.getHeight() / 2));
  }

  @Test
  void blurSpreadsAndKeepsEdgesAndSharpenOvershoots() throws Exception {
    BufferedImage flat = run(solid(ImagePixels.RGB, 30, 20, 0x808080), "{\"op\":\"blur\",\"sigma\":3}");
    for (int[] p : new int[][] {{0, 0}, {29, 19}, {15, 10}, {0, 10}}) {
      int v = flat.getRGB(p[0], p[1]) & 0xff;
      assertTrue(Math.abs(v - 128) <= 1, "uniform stays uniform to its edges: " + v + " at " + Arrays.toString(p));
    }
    BufferedImage dot = solid(ImagePixels.GRAY, 21, 21, 0);
    dot.getRaster().setSample(10, 10, 0, 255);
    BufferedImage b = run(dot, "{\"op\":\"blur\",\"sigma\":1.5}");
    assertTrue(grey(b, 10, 10) < 255 && grey(b, 10, 10) > grey(b, 11, 10), "centre " + grey(b, 10, 10) + " neighbour " + grey(b, 11, 10));
    assertTrue(grey(b, 11, 10) > 0 && grey(b, 11, 10) == grey(b, 9, 10) && grey(b, 10, 11) == grey(b, 11, 10), "symmetric spread");
    assertEquals(0, grey(b, 0, 0));
    // A step 60 | 180: sharpen darkens the dark side next to it and brightens the bright side.
    BufferedImage step = solid(ImagePixels.GRAY, 20, 10, 60);
    for (int y = 0; y < 10; y++) for (int x = 10; x < 20; x++) step.getRaster().setSample(x, y, 0, 180);
    BufferedImage s = run(step, "{\"op\":\"sharpen\",\"sigma\":1}");
    assertTrue(grey(s, 9, 5) < 60 && grey(s, 10, 5) > 180, grey(s, 9, 5) + " | " + grey(s, 10, 5));
    assertEquals(60, grey(s, 0, 5));
    assertEquals(180, grey(s, 19, 5));
  }

  @Test
  void levelsSaturationAndGrayscale() throws Exception {
    BufferedImage img = solid(ImagePixels.ARGB, 2, 2, 0x80_64c832); // alpha 0x80, r 100, g 200, b 50
    assertEquals(0x80_c8ff64, run(img, "{\"op\":\"brightness\",\"factor\":2}").getRGB(0, 0), "x2, clamped, alpha kept");
    assertEquals(0x80_48ff00, run(img, "{\"op\":\"contrast\",\"factor\":2}").getRGB(0, 0), "2 in - 128");
    assertEquals(0x80_808080, run(img, "{\"op\":\"contrast\",\"factor\":0}").getRGB(0, 0));
    int l = (int) Math.round(0.299 * 100 + 0.587 * 200 + 0.114 * 50);
    assertEquals(0x80_000000 | l << 16 | l << 8 | l, run(img, "{\"op\":\"saturation\",\"factor\":0}").getRGB(1, 1));
    assertEquals(img.getRGB(0, 0), run(img, "{\"op\":\"saturation\",\"factor\":1}").getRGB(0, 0));
    BufferedImage g = run(solid(ImagePixels.RGB, 2, 2, 0x64c832), "{\"op\":\"grayscale\"}");
    assertEquals(ImagePixels.GRAY, g.getType(), "one channel");
    assertEquals(1, g.getRaster().getNumBands());
    assertEquals(l, grey(g, 1, 0));
    BufferedImage ga = run(img, "{\"op\":\"grayscale\"}");
    assertEquals(0x80_000000 | l << 16 | l << 8 | l, ga.getRGB(0, 1), "with alpha: equal bands, alpha kept");
    assertEquals(150, grey(run(solid(ImagePixels.GRAY, 1, 1, 100), "{\"op\":\"brightness\",\"factor\":1.5}"), 0, 0));
  }

  @Test
  void edgeKernelsClampAndKeepAlpha() throws Exception {
    BufferedImage flat = run(solid(ImagePixels.ARGB, 5, 5, 0xff7f7f7f), "{\"op\":\"edge\"}");
    assertEquals(0xff000000, flat.getRGB(0, 0), "uniform: no edge, also at the border; alpha kept");
    assertEquals(0xff000000, flat.getRGB(2, 2));
    BufferedImage step = solid(ImagePixels.GRAY, 6, 3, 0);
    for (int y = 0; y < 3; y++) for (int x = 3; x < 6; x++) step.getRaster().setSample(x, y, 0, 100);
    BufferedImage sx = run(step, "{\"op\":\"edge\",\"kernel\":\"sobel_x\"}");
    assertEquals(255, grey(sx, 2, 1), "4 x 100, clamped");
    assertEquals(255, grey(sx, 3, 1));
    assertEquals(0, grey(sx, 0, 1));
    assertEquals(0, grey(run(step, "{\"op\":\"edge\",\"kernel\":\"sobel_y\"}"), 2, 1), "no vertical change");
    BufferedImage lap = run(step, "{\"op\":\"edge\",\"kernel\":\"laplacian\"}");
    assertEquals(255, grey(lap, 3, 1), "8 x 100 - 3 x 100, clamped");
    assertEquals(0, grey(lap, 2, 1), "negative: clamped to 0");
  }

  @Test
  void decodeRefusesJunkTruncatedAndTooManyPixels() throws Exception {
    TaskFailure junk = assertThrows(TaskFailure.class, () -> ImageCodec.decode("this is not an image at all".getBytes(), MAX));
    assertEquals("BAD_INPUT", junk.code);
    assertFalse(junk.retryable);
    assertTrue(junk.getMessage().startsWith("input.blob: not a readable image"), junk.getMessage());
    byte[] png = ImageCodec.encode(solid(ImagePixels.RGB, 100, 100, 0x123456), "png", null);
    TaskFailure cut = assertThrows(TaskFailure.class, () -> ImageCodec.decode(Arrays.copyOf(png, png.length / 2), MAX));
    assertTrue(cut.getMessage().startsWith("input.blob: not a readable image"), cut.getMessage());
    TaskFailure big = assertThrows(TaskFailure.class, () -> ImageCodec.decode(png, 9_999));
    assertTrue(big.getMessage().startsWith("input.blob: image too large: 100x100 is more than 9999 pixels"), big.getMessage());
    ImageCodec.Decoded d = ImageCodec.decode(png, 10_000);
    assertEquals("png", d.format);
    assertEquals(0x123456, d.image.getRGB(99, 99) & 0xffffff);
  }

  @Test
  void encodesOneChannelPngAndJpegWithQuality() throws Exception {
    BufferedImage grey = ImageOps.grayscale(solid(ImagePixels.RGB, 16, 16, 0x64c832));
    BufferedImage back = ImageIO.read(new ByteArrayInputStream(ImageCodec.encode(grey, "png", null)));
    assertEquals(1, back.getRaster().getNumBands(), "grayscale PNG has one channel");
    BufferedImage argb = solid(ImagePixels.ARGB, 16, 16, 0x80_64c832);
    assertEquals(4, ImageIO.read(new ByteArrayInputStream(ImageCodec.encode(argb, "png", null))).getRaster().getNumBands());
    // Noise, so that the quality shows in the size.
    BufferedImage noise = new BufferedImage(64, 64, ImagePixels.RGB);
    java.util.Random r = new java.util.Random(7);
    for (int i = 0; i < ImagePixels.ints(noise).length; i++) ImagePixels.ints(noise)[i] = r.nextInt(0x1000000);
    byte[] low = ImageCodec.encode(noise, "jpeg", 10);
    byte[] high = ImageCodec.encode(noise, "jpeg", 95);
    assertTrue(low.length < high.length, low.length + " < " + high.length);
    ImageCodec.Decoded j = ImageCodec.decode(ImageCodec.encode(argb, "jpeg", null), MAX);
    assertEquals("jpeg", j.format, "the input's format is kept");
    assertEquals(ImagePixels.RGB, j.image.getType(), "JPEG: no alpha");
    int red = j.image.getRGB(8, 8) >> 16 & 0xff;
    assertTrue(Math.abs(red - 0x64 * 0x80 / 255) <= 3, "flattened onto black: red " + red);
  }
}
