package taskwire.worker.handlers;

import com.google.protobuf.Value;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import taskwire.worker.TaskFailure;

/**
 * The `image` input checked with the rules of common/kinds/image.ts and the same field paths in the
 * BAD_INPUT messages (`input.blob`, `input.ops.N.op`, `input.ops.N.<param>`), as the Python
 * worker's parse_chain: the master checked it at submit, the worker checks again (a task may come
 * from a master of another version).
 */
final class ImageChain {
  static final int MAX_OPS = 32;
  static final int MAX_SIDE = 16_384;
  static final List<String> FITS = List.of("cover", "contain", "fill", "inside", "outside");
  static final List<String> DIRECTIONS = List.of("horizontal", "vertical", "both");
  static final List<String> KERNELS = List.of("laplacian", "sobel_x", "sobel_y");
  static final List<String> FORMATS = List.of("jpeg", "png", "webp", "avif");
  /** What ImageIO writes (it has no WebP or AVIF encoder): the only formats advertised. */
  static final List<String> WRITES = List.of("jpeg", "png");
  private static final Pattern BLOB_ID = Pattern.compile("^[0-9a-f]{64}$");

  /** Each operation's parameters (besides `op`). */
  static final Map<String, Set<String>> PARAMS = new LinkedHashMap<>();

  static {
    PARAMS.put("resize", Set.of("width", "height", "fit"));
    PARAMS.put("crop", Set.of("left", "top", "width", "height"));
    PARAMS.put("rotate", Set.of("angle"));
    PARAMS.put("flip", Set.of("direction"));
    PARAMS.put("blur", Set.of("sigma"));
    PARAMS.put("sharpen", Set.of("sigma"));
    PARAMS.put("brightness", Set.of("factor"));
    PARAMS.put("contrast", Set.of("factor"));
    PARAMS.put("saturation", Set.of("factor"));
    PARAMS.put("grayscale", Set.of());
    PARAMS.put("edge", Set.of("kernel"));
    PARAMS.put("format", Set.of("format", "quality"));
  }

  /** One checked operation; only the fields of its `op` are set (defaults filled in). */
  static final class Op {
    final String op;
    Integer width;
    Integer height;
    String fit;
    int left;
    int top;
    double angle;
    String direction;
    double sigma;
    double factor;
    String kernel;
    String format;
    Integer quality;

    Op(String op) {
      this.op = op;
    }
  }

  final String blob;
  final List<Op> ops;

  private ImageChain(String blob, List<Op> ops) {
    this.blob = blob;
    this.ops = ops;
  }

  static TaskFailure bad(String path, String msg) {
    return new TaskFailure("BAD_INPUT", "input" + (path.isEmpty() ? "" : "." + path) + ": " + msg, false);
  }

  static ImageChain parse(Value input) throws TaskFailure {
    if (input == null || input.getKindCase() != Value.KindCase.STRUCT_VALUE) throw bad("", "expected {blob, ops}");
    Map<String, Value> m = input.getStructValue().getFieldsMap();
    TreeSet<String> extra = new TreeSet<>(m.keySet());
    extra.removeAll(Set.of("blob", "ops"));
    if (!extra.isEmpty()) throw bad(extra.first(), "unknown key");
    Value b = m.get("blob");
    if (b == null || b.getKindCase() != Value.KindCase.STRING_VALUE || !BLOB_ID.matcher(b.getStringValue()).matches()) {
      throw bad("blob", "expected a blob id (sha256, 64 hex digits)");
    }
    Value ops = m.get("ops");
    if (ops == null || ops.getKindCase() != Value.KindCase.LIST_VALUE || ops.getListValue().getValuesCount() < 1
        || ops.getListValue().getValuesCount() > MAX_OPS) {
      throw bad("ops", "expected 1 to " + MAX_OPS + " operations");
    }
    List<Value> list = ops.getListValue().getValuesList();
    List<Op> out = new ArrayList<>();
    for (int i = 0; i < list.size(); i++) out.add(op(list.get(i), "ops." + i, i == list.size() - 1));
    return new ImageChain(b.getStringValue(), out);
  }

  private static Op op(Value v, String p, boolean last) throws TaskFailure {
    Map<String, Value> o = v.getKindCase() == Value.KindCase.STRUCT_VALUE ? v.getStructValue().getFieldsMap() : Map.of();
    Value name = o.get("op");
    if (name == null || name.getKindCase() != Value.KindCase.STRING_VALUE || !PARAMS.containsKey(name.getStringValue())) {
      throw bad(p + ".op", "unknown operation (one of " + String.join(", ", PARAMS.keySet()) + ")");
    }
    Op r = new Op(name.getStringValue());
    TreeSet<String> extra = new TreeSet<>(o.keySet());
    extra.remove("op");
    extra.removeAll(PARAMS.get(r.op));
    if (!extra.isEmpty()) throw bad(p + "." + extra.first(), "unknown parameter");
    switch (r.op) {
      case "resize":
        if (!o.containsKey("width") && !o.containsKey("height")) throw bad(p + ".width", "resize needs width or height");
        if (o.containsKey("width")) r.width = (int) integer(o, "width", p, 1, MAX_SIDE);
        if (o.containsKey("height")) r.height = (int) integer(o, "height", p, 1, MAX_SIDE);
        r.fit = choice(o, "fit", p, FITS, "cover");
        break;
      case "crop":
        r.left = (int) integer(o, "left", p, 0, Integer.MAX_VALUE);
        r.top = (int) integer(o, "top", p, 0, Integer.MAX_VALUE);
        r.width = (int) integer(o, "width", p, 1, MAX_SIDE);
        r.height = (int) integer(o, "height", p, 1, MAX_SIDE);
        break;
      case "rotate":
        r.angle = number(o, "angle", p, -360, 360, null);
        break;
      case "flip":
        r.direction = choice(o, "direction", p, DIRECTIONS, "vertical");
        break;
      case "blur":
        r.sigma = number(o, "sigma", p, 0.3, 1000, null);
        break;
      case "sharpen":
        r.sigma = number(o, "sigma", p, 0.01, 10, 1.0);
        break;
      case "brightness":
      case "contrast":
      case "saturation":
        r.factor = number(o, "factor", p, 0, 10, null);
        break;
      case "edge":
        r.kernel = choice(o, "kernel", p, KERNELS, "laplacian");
        break;
      case "format":
        if (!last) throw bad(p + ".op", "format must be the last operation");
        r.format = choice(o, "format", p, FORMATS, null);
        if (!WRITES.contains(r.format)) {
          throw bad(p + ".format", "this worker (Java ImageIO) does not write " + r.format + " (it writes " + String.join(", ", WRITES) + ")");
        }
        if (o.containsKey("quality")) r.quality = (int) integer(o, "quality", p, 1, 100);
        break;
      default: // grayscale: no parameters
    }
    return r;
  }

  private static double number(Map<String, Value> o, String k, String p, double lo, double hi, Double def) throws TaskFailure {
    Value v = o.get(k);
    if (v == null) {
      if (def != null) return def;
      throw bad(p + "." + k, "required");
    }
    if (v.getKindCase() != Value.KindCase.NUMBER_VALUE) throw bad(p + "." + k, "expected a number");
    double d = v.getNumberValue();
    if (!(d >= lo && d <= hi)) throw bad(p + "." + k, "must be from " + fmt(lo) + " to " + fmt(hi));
    return d;
  }

  private static long integer(Map<String, Value> o, String k, String p, long lo, long hi) throws TaskFailure {
    Value v = o.get(k);
    if (v == null) throw bad(p + "." + k, "required");
    if (v.getKindCase() != Value.KindCase.NUMBER_VALUE || v.getNumberValue() != Math.rint(v.getNumberValue())) {
      throw bad(p + "." + k, "expected an integer");
    }
    double d = v.getNumberValue();
    if (d < lo || d > hi) throw bad(p + "." + k, "must be from " + lo + " to " + hi);
    return (long) d;
  }

  private static String choice(Map<String, Value> o, String k, String p, List<String> choices, String def) throws TaskFailure {
    Value v = o.get(k);
    if (v == null && def != null) return def;
    if (v == null || v.getKindCase() != Value.KindCase.STRING_VALUE || !choices.contains(v.getStringValue())) {
      throw bad(p + "." + k, "expected one of " + String.join(", ", choices));
    }
    return v.getStringValue();
  }

  private static String fmt(double d) {
    return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
  }
}
