package taskwire.worker;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeSet;

/** Strict checks of a task input (google.protobuf.Value): wrong types and unknown keys are BAD_INPUT. */
public final class Values {
  private Values() {}

  public static Map<String, Value> object(Value v, String path, String... allowed) throws TaskFailure {
    if (v == null || v.getKindCase() != Value.KindCase.STRUCT_VALUE) throw TaskFailure.badInput(path + ": expected an object");
    Map<String, Value> m = v.getStructValue().getFieldsMap();
    TreeSet<String> extra = new TreeSet<>(m.keySet());
    extra.removeAll(Arrays.asList(allowed));
    if (!extra.isEmpty()) throw TaskFailure.badInput(path + ": unknown key(s) " + String.join(", ", extra));
    return m;
  }

  public static String string(Value v, String path, int maxChars) throws TaskFailure {
    if (v.getKindCase() != Value.KindCase.STRING_VALUE) throw TaskFailure.badInput(path + ": expected a string");
    String s = v.getStringValue();
    if (s.codePointCount(0, s.length()) > maxChars) throw TaskFailure.badInput(path + ": too long");
    return s;
  }

  public static long integer(Value v, String path, long lo, long hi) throws TaskFailure {
    if (v.getKindCase() != Value.KindCase.NUMBER_VALUE) throw TaskFailure.badInput(path + ": expected an integer in range");
    double d = v.getNumberValue();
    if (d != Math.rint(d) || d < lo || d > hi) throw TaskFailure.badInput(path + ": expected an integer in range");
    return (long) d;
  }

  public static double number(Value v, String path, double lo, double hi) throws TaskFailure {
    if (v.getKindCase() != Value.KindCase.NUMBER_VALUE || v.getNumberValue() < lo || v.getNumberValue() > hi) {
      throw TaskFailure.badInput(path + ": expected a number from " + lo + " to " + hi);
    }
    return v.getNumberValue();
  }

  public static Value str(String s) {
    return Value.newBuilder().setStringValue(s).build();
  }

  public static Value num(double d) {
    return Value.newBuilder().setNumberValue(d).build();
  }

  public static Value obj(Map<String, Value> fields) {
    return Value.newBuilder().setStructValue(Struct.newBuilder().putAllFields(fields)).build();
  }
}
