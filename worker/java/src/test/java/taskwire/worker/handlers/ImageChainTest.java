package taskwire.worker.handlers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import taskwire.worker.TaskFailure;

/** The `image` input rules of common/kinds/image.ts, with its field paths in the BAD_INPUT messages. */
class ImageChainTest {
  static final String BLOB = "ab".repeat(32);

  static Value json(String s) throws Exception {
    Value.Builder b = Value.newBuilder();
    JsonFormat.parser().merge(s, b);
    return b.build();
  }

  static Value input(String ops) throws Exception {
    return json("{\"blob\":\"" + BLOB + "\",\"ops\":" + ops + "}");
  }

  @Test
  void parsesEveryOperationWithItsDefaults() throws Exception {
    ImageChain c = ImageChain.parse(input("[{\"op\":\"resize\",\"width\":20},{\"op\":\"crop\",\"left\":1,\"top\":2,\"width\":3,\"height\":4},"
        + "{\"op\":\"rotate\",\"angle\":-45.5},{\"op\":\"flip\"},{\"op\":\"blur\",\"sigma\":2},{\"op\":\"sharpen\"},{\"op\":\"brightness\",\"factor\":1.2},"
        + "{\"op\":\"contrast\",\"factor\":0},{\"op\":\"saturation\",\"factor\":10},{\"op\":\"grayscale\"},{\"op\":\"edge\"},{\"op\":\"format\",\"format\":\"jpeg\",\"quality\":50}]"));
    assertEquals(BLOB, c.blob);
    assertEquals(12, c.ops.size());
    assertEquals(20, c.ops.get(0).width);
    assertNull(c.ops.get(0).height);
    assertEquals("cover", c.ops.get(0).fit);
    assertEquals(4, c.ops.get(1).height);
    assertEquals(-45.5, c.ops.get(2).angle);
    assertEquals("vertical", c.ops.get(3).direction);
    assertEquals(1.0, c.ops.get(5).sigma);
    assertEquals("laplacian", c.ops.get(10).kernel);
    assertEquals("jpeg", c.ops.get(11).format);
    assertEquals(50, c.ops.get(11).quality);
  }

  @Test
  void badInputNamesTheField() throws Exception {
    String ops33 = "[" + String.join(",", java.util.Collections.nCopies(33, "{\"op\":\"grayscale\"}")) + "]";
    Map<String, Value> cases = new java.util.LinkedHashMap<>();
    cases.put("input.blob: ", json("{\"blob\":\"ABC\",\"ops\":[{\"op\":\"grayscale\"}]}"));
    cases.put("input.ops: ", input("[]"));
    cases.put("input.ops: expected 1 to 32", input(ops33));
    cases.put("input.other: ", json("{\"blob\":\"" + BLOB + "\",\"ops\":[{\"op\":\"grayscale\"}],\"other\":1}"));
    cases.put("input.ops.1.op: unknown operation", input("[{\"op\":\"grayscale\"},{\"op\":\"emboss\"}]"));
    cases.put("input.ops.0.op: unknown operation", input("[\"grayscale\"]"));
    cases.put("input.ops.0.sigma: must be from 0.3 to 1000", input("[{\"op\":\"blur\",\"sigma\":0.1}]"));
    cases.put("input.ops.0.sigma: required", input("[{\"op\":\"blur\"}]"));
    cases.put("input.ops.0.width: resize needs width or height", input("[{\"op\":\"resize\",\"fit\":\"fill\"}]"));
    cases.put("input.ops.0.height: must be from 1 to 16384", input("[{\"op\":\"resize\",\"height\":16385}]"));
    cases.put("input.ops.0.fit: expected one of", input("[{\"op\":\"resize\",\"width\":2,\"fit\":\"stretch\"}]"));
    cases.put("input.ops.0.width: expected an integer", input("[{\"op\":\"crop\",\"left\":0,\"top\":0,\"width\":2.5,\"height\":2}]"));
    cases.put("input.ops.0.left: required", input("[{\"op\":\"crop\",\"top\":0,\"width\":2,\"height\":2}]"));
    cases.put("input.ops.0.amount: unknown parameter", input("[{\"op\":\"sharpen\",\"amount\":2}]"));
    cases.put("input.ops.0.factor: expected a number", input("[{\"op\":\"brightness\",\"factor\":\"2\"}]"));
    cases.put("input.ops.0.angle: must be from -360 to 360", input("[{\"op\":\"rotate\",\"angle\":361}]"));
    cases.put("input.ops.0.kernel: expected one of laplacian, sobel_x, sobel_y", input("[{\"op\":\"edge\",\"kernel\":\"prewitt\"}]"));
    cases.put("input.ops.0.op: format must be the last operation", input("[{\"op\":\"format\",\"format\":\"png\"},{\"op\":\"grayscale\"}]"));
    cases.put("input.ops.0.format: expected one of jpeg, png, webp, avif", input("[{\"op\":\"format\",\"format\":\"gif\"}]"));
    cases.put("input.ops.0.format: this worker (Java ImageIO) does not write webp", input("[{\"op\":\"format\",\"format\":\"webp\"}]"));
    cases.put("input.ops.0.quality: must be from 1 to 100", input("[{\"op\":\"format\",\"format\":\"jpeg\",\"quality\":0}]"));
    cases.forEach((prefix, in) -> {
      TaskFailure f = assertThrows(TaskFailure.class, () -> ImageChain.parse(in), prefix);
      assertEquals("BAD_INPUT", f.code);
      assertFalse(f.retryable);
      assertTrue(f.getMessage().startsWith(prefix), prefix + " <- " + f.getMessage());
    });
  }

  @Test
  void limitsFromTheEnvironmentNameTheVariable() throws Exception {
    ImageHandler.fromEnv(Map.of("TASKWIRE_IMAGE_MAX_PIXELS", "5000", "TASKWIRE_MAX_BLOB_BYTES", "1"));
    for (String v : List.of("TASKWIRE_IMAGE_MAX_PIXELS", "TASKWIRE_MAX_BLOB_BYTES")) {
      for (String bad : List.of("0", "-3", "lots")) {
        taskwire.worker.Config.ConfigException e = assertThrows(taskwire.worker.Config.ConfigException.class, () -> ImageHandler.fromEnv(Map.of(v, bad)));
        assertTrue(e.getMessage().startsWith(v + ": must be a positive integer"), e.getMessage());
      }
    }
  }

  @Test
  void advertisesEveryOperationAndOnlyPngAndJpeg() {
    List<String> f = new ImageHandler(100, 100).features();
    assertEquals(19, f.size());
    assertTrue(f.containsAll(List.of("image:op:resize", "image:op:edge", "image:op:format", "image:format:png", "image:format:jpeg")), f.toString());
    assertFalse(f.contains("image:format:webp") || f.contains("image:format:avif"), f.toString());
    assertEquals(f.stream().sorted().toList(), f);
  }

  @Test
  void advertisesTheFormatsImageIoReadsAndNotWebpOrAvif() throws Exception {
    List<String> f = new ImageHandler(100, 100).features();
    assertTrue(f.containsAll(List.of("image:read:bmp", "image:read:gif", "image:read:jpeg", "image:read:png", "image:read:tiff")), f.toString());
    assertFalse(f.contains("image:read:webp") || f.contains("image:read:avif") || f.contains("image:read:heif"), f.toString());
    // Each advertised format really decodes: one image of it, written by ImageIO, read back.
    for (String fmt : ImageCodec.readFormats()) {
      java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(3, 2, java.awt.image.BufferedImage.TYPE_INT_RGB);
      java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
      assertTrue(javax.imageio.ImageIO.write(img, fmt, out), "no ImageIO writer for " + fmt);
      ImageCodec.Decoded d = ImageCodec.decode(out.toByteArray(), 100);
      assertEquals(3, d.image.getWidth(), fmt);
      assertEquals(2, d.image.getHeight(), fmt);
    }
  }
}
