package taskwire.worker;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * proto3 JSON on MQTT (PROTOCOL.md section 3): original field names for
 * senders; receivers accept lowerCamelCase, integers as strings, enum numbers
 * and unknown fields. On top: size limit, UTF-8 and 64 levels of nesting.
 */
public final class Codec {
  static final int MAX_DEPTH = 64;
  private static final JsonFormat.Printer PRINTER = JsonFormat.printer().preservingProtoFieldNames().omittingInsignificantWhitespace();
  private static final JsonFormat.Parser PARSER = JsonFormat.parser().ignoringUnknownFields();

  private Codec() {}

  public static byte[] encode(Message m) {
    try {
      return PRINTER.print(m).getBytes(StandardCharsets.UTF_8);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException(e); // only for messages this worker builds itself
    }
  }

  static boolean depthOk(String s) {
    int depth = 0;
    boolean inString = false, escaped = false;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (escaped) escaped = false;
      else if (inString && c == '\\') escaped = true;
      else if (c == '"') inString = !inString;
      else if (inString) continue;
      else if (c == '{' || c == '[') {
        if (++depth > MAX_DEPTH) return false;
      } else if (c == '}' || c == ']') depth--;
    }
    return true;
  }

  /**
   * protobuf-java's parser turns a number into a string field and "true" into
   * a bool; proto3 JSON (and the other workers) refuse both.
   */
  static void strictScalars(JsonElement json, Descriptor type, String path) throws InvalidProtocolBufferException {
    if (!json.isJsonObject() || type.getFullName().startsWith("google.protobuf.")) return;
    JsonObject o = json.getAsJsonObject();
    for (FieldDescriptor f : type.getFields()) {
      JsonElement v = o.has(f.getName()) ? o.get(f.getName()) : o.get(f.getJsonName());
      if (v == null || v.isJsonNull() || f.isMapField()) continue;
      Iterable<JsonElement> items = f.isRepeated() && v.isJsonArray() ? v.getAsJsonArray() : java.util.List.of(v);
      for (JsonElement item : items) {
        String where = path + "." + f.getName();
        switch (f.getJavaType()) {
          case STRING:
          case BYTE_STRING:
            if (!item.isJsonPrimitive() || !item.getAsJsonPrimitive().isString()) throw new InvalidProtocolBufferException(where + ": expected a string");
            break;
          case BOOLEAN:
            if (!item.isJsonPrimitive() || !item.getAsJsonPrimitive().isBoolean()) throw new InvalidProtocolBufferException(where + ": expected true or false");
            break;
          case MESSAGE:
            strictScalars(item, f.getMessageType(), where);
            break;
          default:
            break;
        }
      }
    }
  }

  /** Decodes into builder; an exception says why the message is dropped. */
  public static <B extends Message.Builder> B decode(byte[] payload, B builder, int maxBytes) throws InvalidProtocolBufferException {
    if (payload.length > maxBytes) throw new InvalidProtocolBufferException(payload.length + " bytes, more than " + maxBytes);
    String text;
    try {
      text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(payload)).toString();
    } catch (CharacterCodingException e) {
      throw new InvalidProtocolBufferException("not UTF-8");
    }
    String trimmed = text.strip();
    if (trimmed.isEmpty() || trimmed.charAt(0) != '{') throw new InvalidProtocolBufferException("payload is not a JSON object");
    if (!depthOk(trimmed)) throw new InvalidProtocolBufferException("JSON nested deeper than " + MAX_DEPTH + " levels");
    try {
      strictScalars(JsonParser.parseString(trimmed), builder.getDescriptorForType(), "");
      PARSER.merge(trimmed, builder);
    } catch (RuntimeException e) {
      throw new InvalidProtocolBufferException("invalid JSON: " + e.getMessage());
    }
    return builder;
  }
}
