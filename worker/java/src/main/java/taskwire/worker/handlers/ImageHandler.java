package taskwire.worker.handlers;

import com.google.protobuf.Value;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import taskwire.worker.Aborted;
import taskwire.worker.Config;
import taskwire.worker.TaskContext;
import taskwire.worker.TaskFailure;
import taskwire.worker.TaskHandler;
import taskwire.worker.Values;

/**
 * `image` (docs/IMAGES.md) with the JDK's javax.imageio and java.awt.image: fetches the input
 * blob (FetchBlob), runs the chain in the order given (ImageOps), encodes PNG or JPEG and stores
 * the output (PutBlob); answers {blob, bytes, width, height, format, content_type, ms}. A corrupt
 * or non-image input, more pixels than TASKWIRE_IMAGE_MAX_PIXELS, or a crop outside the image is
 * BAD_INPUT (not retried), never the worker's end. Needs java.awt.headless=true (Main sets it).
 */
public final class ImageHandler implements TaskHandler {
  public static final long DEFAULT_MAX_PIXELS = 100_000_000L;
  /** The master's TASKWIRE_MAX_BLOB_BYTES default: no input blob is larger. */
  public static final long DEFAULT_MAX_BLOB_BYTES = 50L * 1024 * 1024;
  static final Map<String, String> CONTENT_TYPES = Map.of("jpeg", "image/jpeg", "png", "image/png");

  private final long maxPixels;
  private final long maxBlobBytes;

  public ImageHandler(long maxPixels, long maxBlobBytes) {
    this.maxPixels = maxPixels;
    this.maxBlobBytes = maxBlobBytes;
  }

  /** TASKWIRE_IMAGE_MAX_PIXELS (default 100,000,000) and TASKWIRE_MAX_BLOB_BYTES (default 50 MiB), as the other workers. */
  public static ImageHandler fromEnv(Map<String, String> env) throws Config.ConfigException {
    return new ImageHandler(positive(env, "TASKWIRE_IMAGE_MAX_PIXELS", DEFAULT_MAX_PIXELS), positive(env, "TASKWIRE_MAX_BLOB_BYTES", DEFAULT_MAX_BLOB_BYTES));
  }

  private static long positive(Map<String, String> env, String name, long def) throws Config.ConfigException {
    String raw = env.get(name);
    if (raw == null || raw.isBlank()) return def;
    try {
      long v = Long.parseLong(raw.trim());
      if (v >= 1) return v;
    } catch (NumberFormatException e) {
      // below
    }
    throw new Config.ConfigException(name, "must be a positive integer, got \"" + raw + "\"");
  }

  @Override
  public String kind() {
    return "image";
  }

  /**
   * Every operation, the two formats ImageIO writes and the formats it reads: the master places a
   * webp or avif chain elsewhere, and a webp or avif input too (the JDK has no decoder for them).
   */
  @Override
  public List<String> features() {
    List<String> f = new ArrayList<>();
    for (String op : ImageChain.PARAMS.keySet()) f.add("image:op:" + op);
    for (String fmt : ImageChain.WRITES) f.add("image:format:" + fmt);
    for (String fmt : ImageCodec.readFormats()) f.add("image:read:" + fmt);
    Collections.sort(f);
    return f;
  }

  @Override
  public Value run(TaskContext ctx, Value input) throws TaskFailure, Aborted {
    long started = System.nanoTime();
    ImageChain chain = ImageChain.parse(input);
    byte[] data = ctx.fetchBlob(chain.blob, maxBlobBytes);
    ctx.check();
    ImageCodec.Decoded decoded = ImageCodec.decode(data, maxPixels);
    data = null; // the encoded input is not needed past here (large inputs)
    BufferedImage img = decoded.image;
    for (int i = 0; i < chain.ops.size(); i++) {
      ctx.check();
      img = ImageOps.apply(img, chain.ops.get(i), i, maxPixels);
    }
    ImageChain.Op last = chain.ops.get(chain.ops.size() - 1);
    String format = last.op.equals("format") ? last.format : decoded.format;
    byte[] out;
    try {
      out = ImageCodec.encode(img, format, last.op.equals("format") ? last.quality : null);
    } catch (IOException e) {
      throw new TaskFailure("INTERNAL", "encoding " + format + ": " + e.getMessage(), false);
    }
    ctx.check();
    String type = CONTENT_TYPES.get(format);
    String id = ctx.putBlob(out, type);
    Map<String, Value> o = new LinkedHashMap<>();
    o.put("blob", Values.str(id));
    o.put("bytes", Values.num(out.length));
    o.put("width", Values.num(img.getWidth()));
    o.put("height", Values.num(img.getHeight()));
    o.put("format", Values.str(format));
    o.put("content_type", Values.str(type));
    o.put("ms", Values.num((System.nanoTime() - started) / 1_000_000));
    return Values.obj(o);
  }
}
