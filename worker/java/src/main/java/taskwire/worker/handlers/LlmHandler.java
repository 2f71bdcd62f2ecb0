package taskwire.worker.handlers;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import taskwire.v1.Worker.ModelInfo;
import taskwire.worker.Aborted;
import taskwire.worker.Config;
import taskwire.worker.Log;
import taskwire.worker.Metrics;
import taskwire.worker.TaskContext;
import taskwire.worker.TaskFailure;
import taskwire.worker.TaskHandler;
import taskwire.worker.Tracing;
import taskwire.worker.Values;

/**
 * `llm` against any OpenAI-compatible server (OpenAI, vLLM, llama.cpp, Ollama
 * /v1) with the JDK's HttpClient: POST {base}/chat/completions with
 * stream=true, read as server-sent events, each delta sent as a chunk. Input
 * and output as in docs/LLM.md; errors map to the PROVIDER_* codes of
 * PROTOCOL.md section 11.1. A user's own key arrives as the secret
 * `provider_api_key` (FetchSecrets), never on MQTT.
 */
public final class LlmHandler implements TaskHandler {
  static final String DEFAULT_BASE_URL = "https://api.openai.com/v1";
  static final Pattern MODEL_NAME = Pattern.compile("^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$");
  static final List<String> ROLES = List.of("system", "user", "assistant");
  private static final Gson GSON = new Gson();

  private final String baseUrl;
  private final String apiKey;
  private List<String> modelNames;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  LlmHandler(String baseUrl, String apiKey, List<String> models) {
    this.baseUrl = baseUrl.replaceAll("/+$", "");
    this.apiKey = apiKey;
    this.modelNames = models;
  }

  /** The handler when OPENAI_BASE_URL or OPENAI_API_KEY is set, else null (also when the server lists no models). */
  public static LlmHandler fromEnv(Map<String, String> env) throws Config.ConfigException {
    String key = env.getOrDefault("OPENAI_API_KEY", "");
    if (key.isEmpty() && !env.getOrDefault("OPENAI_API_KEY_FILE", "").isEmpty()) {
      String path = env.get("OPENAI_API_KEY_FILE");
      try {
        key = Files.readString(Path.of(path)).trim();
      } catch (IOException e) {
        throw new Config.ConfigException("OPENAI_API_KEY_FILE", "cannot read " + path + ": " + e.getMessage());
      }
    }
    String base = env.getOrDefault("OPENAI_BASE_URL", "");
    if (base.isEmpty()) base = key.isEmpty() ? "" : DEFAULT_BASE_URL;
    if (base.isEmpty()) return null;
    if (!base.matches("^https?://.+")) throw new Config.ConfigException("OPENAI_BASE_URL", "must be an http(s) URL, got \"" + base + "\"");
    List<String> listed = new ArrayList<>();
    for (String m : env.getOrDefault("OPENAI_MODELS", "").split(",")) {
      String t = m.trim();
      if (t.isEmpty()) continue;
      if (!MODEL_NAME.matcher(t).matches()) throw new Config.ConfigException("OPENAI_MODELS", "\"" + t + "\" is not a valid model name");
      listed.add(t);
    }
    LlmHandler h = new LlmHandler(base, key.isEmpty() ? null : key, listed);
    if (listed.isEmpty()) {
      try {
        h.modelNames = h.discover(Long.parseLong(env.getOrDefault("TASKWIRE_LLM_DISCOVERY_MS", "5000")));
      } catch (Exception e) {
        Log.warn("llm: model discovery at " + h.baseUrl + " failed, not serving llm: " + e.getMessage());
        return null;
      }
    }
    if (h.modelNames.isEmpty()) {
      Log.warn("llm: " + h.baseUrl + " lists no models, not serving llm");
      return null;
    }
    return h;
  }

  /** traceparent: the header of the task's trace (null: none). */
  private HttpRequest.Builder request(String path, String key, long timeoutMs, String traceparent) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(Duration.ofMillis(timeoutMs))
        .header("content-type", "application/json").header("accept", "text/event-stream");
    if (key != null && !key.isEmpty()) b.header("authorization", "Bearer " + key);
    if (traceparent != null) b.header("traceparent", traceparent);
    return b;
  }

  List<String> discover(long timeoutMs) throws IOException, InterruptedException, TaskFailure {
    HttpResponse<String> r = http.send(request("/models", apiKey, timeoutMs, null).GET().build(), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) throw httpFailure(r.statusCode(), r.body(), apiKey);
    LinkedHashSet<String> ids = new LinkedHashSet<>();
    JsonElement data = JsonParser.parseString(r.body()).getAsJsonObject().get("data");
    if (data != null && data.isJsonArray()) {
      for (JsonElement m : data.getAsJsonArray()) {
        if (m.isJsonObject() && m.getAsJsonObject().has("id") && m.getAsJsonObject().get("id").isJsonPrimitive()) {
          String id = m.getAsJsonObject().get("id").getAsString();
          if (!id.isEmpty()) ids.add(id);
        }
      }
    }
    return new ArrayList<>(ids);
  }

  public List<ModelInfo> models() {
    List<ModelInfo> out = new ArrayList<>();
    for (String m : modelNames) out.add(ModelInfo.newBuilder().setKind("llm").setName(m).setReady(true).setProvider("openai").build());
    return out;
  }

  @Override
  public String kind() {
    return "llm";
  }

  static String redact(String text, String key) {
    return key != null && key.length() >= 4 ? text.replace(key, "[redacted]") : text;
  }

  static TaskFailure httpFailure(int status, String body, String key) {
    String detail = body;
    String code = "";
    try {
      JsonElement err = JsonParser.parseString(body).getAsJsonObject().get("error");
      if (err != null && err.isJsonObject()) {
        JsonObject e = err.getAsJsonObject();
        if (e.has("message")) detail = e.get("message").getAsString();
        if (e.has("code") && !e.get("code").isJsonNull()) code = e.get("code").getAsString();
        else if (e.has("type")) code = e.get("type").getAsString();
      } else if (err != null && err.isJsonPrimitive()) {
        detail = err.getAsString();
      }
    } catch (RuntimeException ignored) {
      // not JSON: the body is the detail
    }
    String d = redact(String.join(" ", detail.trim().split("\\s+")), key);
    if (d.length() > 500) d = d.substring(0, 500);
    String msg = "openai: HTTP " + status + ": " + (d.isEmpty() ? "no details" : d);
    if (status == 401 || status == 403) return new TaskFailure("PROVIDER_AUTH", msg, false);
    if (status == 429) return new TaskFailure("PROVIDER_RATE_LIMIT", msg, !code.contains("insufficient_quota"));
    if (status == 404) return new TaskFailure("MODEL_NOT_FOUND", msg, false);
    if (status == 400 || status == 413 || status == 422) return new TaskFailure("BAD_INPUT", msg, false);
    if (status == 408 || status >= 500) return new TaskFailure("PROVIDER_UNAVAILABLE", msg, true);
    return new TaskFailure("PROVIDER_ERROR", msg, false);
  }

  /** Checks the input (docs/LLM.md) and builds the request body. */
  JsonObject body(Value input) throws TaskFailure {
    Map<String, Value> in = Values.object(input, "", "messages", "model", "provider", "temperature", "top_p", "max_tokens", "stop");
    Value msgs = in.get("messages");
    if (msgs == null || msgs.getKindCase() != Value.KindCase.LIST_VALUE || msgs.getListValue().getValuesCount() < 1
        || msgs.getListValue().getValuesCount() > 256) {
      throw new TaskFailure("BAD_INPUT", "input.messages: 1 to 256 messages", false);
    }
    JsonArray messages = new JsonArray();
    long total = 0;
    boolean onlySystem = true;
    for (int i = 0; i < msgs.getListValue().getValuesCount(); i++) {
      String p = ".messages[" + i + "]";
      Map<String, Value> m = Values.object(msgs.getListValue().getValues(i), p, "role", "content");
      if (!m.containsKey("role") || !m.containsKey("content")) throw TaskFailure.badInput(p + ": role and content are required");
      Value role = m.get("role");
      if (role.getKindCase() != Value.KindCase.STRING_VALUE || !ROLES.contains(role.getStringValue())) {
        throw TaskFailure.badInput(p + ".role: one of " + String.join(", ", ROLES));
      }
      String content = Values.string(m.get("content"), p + ".content", 256 * 1024);
      total += content.length();
      onlySystem &= role.getStringValue().equals("system");
      JsonObject o = new JsonObject();
      o.addProperty("role", role.getStringValue());
      o.addProperty("content", content);
      messages.add(o);
    }
    if (total > 1024 * 1024) throw new TaskFailure("BAD_INPUT", "input.messages: more than 1048576 characters in total", false);
    if (onlySystem) throw new TaskFailure("BAD_INPUT", "input.messages: needs at least one user or assistant message", false);
    String model = modelNames.get(0);
    if (in.containsKey("model")) {
      Value m = in.get("model");
      if (m.getKindCase() != Value.KindCase.STRING_VALUE || m.getStringValue().length() > 200 || !MODEL_NAME.matcher(m.getStringValue()).matches()) {
        throw new TaskFailure("BAD_INPUT", "input.model: not a valid model name", false);
      }
      model = m.getStringValue();
    }
    if (in.containsKey("provider")) {
      Value p = in.get("provider");
      String name = p.getKindCase() == Value.KindCase.STRING_VALUE ? p.getStringValue() : "";
      if (!List.of("gemini", "openai", "ollama").contains(name)) throw new TaskFailure("BAD_INPUT", "input.provider: gemini, openai or ollama", false);
      if (!name.equals("openai")) throw new TaskFailure("UNSUPPORTED", "this worker has no " + name + " provider", false);
    }
    JsonObject body = new JsonObject();
    if (in.containsKey("temperature")) body.addProperty("temperature", Values.number(in.get("temperature"), ".temperature", 0, 2));
    if (in.containsKey("top_p")) body.addProperty("top_p", Values.number(in.get("top_p"), ".top_p", 0, 1));
    if (in.containsKey("max_tokens")) body.addProperty("max_tokens", Values.integer(in.get("max_tokens"), ".max_tokens", 1, 1_000_000));
    if (in.containsKey("stop")) {
      Value s = in.get("stop");
      JsonArray stop = new JsonArray();
      boolean ok = s.getKindCase() == Value.KindCase.LIST_VALUE && s.getListValue().getValuesCount() <= 4;
      if (ok) {
        for (Value v : s.getListValue().getValuesList()) {
          ok &= v.getKindCase() == Value.KindCase.STRING_VALUE && !v.getStringValue().isEmpty() && v.getStringValue().length() <= 256;
          stop.add(v.getStringValue());
        }
      }
      if (!ok) throw new TaskFailure("BAD_INPUT", "input.stop: up to 4 non-empty strings", false);
      body.add("stop", stop);
    }
    body.addProperty("model", model);
    body.add("messages", messages);
    body.addProperty("stream", true);
    JsonObject opts = new JsonObject();
    opts.addProperty("include_usage", true);
    body.add("stream_options", opts);
    return body;
  }

  @Override
  public Value run(TaskContext ctx, Value input) throws TaskFailure, Aborted, InterruptedException {
    JsonObject body = body(input);
    String model = body.get("model").getAsString();
    if (!modelNames.contains(model)) throw new TaskFailure("MODEL_NOT_FOUND", "model \"" + model + "\" is not served here", false);
    String key = ctx.secretNames().contains("provider_api_key") ? ctx.secrets().get("provider_api_key") : null;
    if (key == null || key.isEmpty()) key = apiKey;
    Call call = new Call(Tracing.providerCall("openai", model));
    HttpRequest req = request("/chat/completions", key, 300_000, call.span.traceparent()).POST(HttpRequest.BodyPublishers.ofString(GSON.toJson(body))).build();
    long started = System.nanoTime();
    try {
      Value out = call(ctx, req, key, model, started, call);
      Metrics.INSTANCE.providerCall("openai", model, (System.nanoTime() - started) / 1e9, call.ttftMs == null ? null : call.ttftMs / 1000, null, call.prompt, call.completion);
      call.span.end(null, call.prompt, call.completion);
      return out;
    } catch (TaskFailure | Aborted | InterruptedException | RuntimeException e) {
      String code = e instanceof TaskFailure ? ((TaskFailure) e).code : e instanceof RuntimeException ? "INTERNAL" : "CANCELLED";
      Metrics.INSTANCE.providerCall("openai", model, (System.nanoTime() - started) / 1e9, null, code, -1, -1);
      call.span.end(code, -1, -1);
      throw e;
    }
  }

  /** What one provider call reported, for its metrics, and its span. */
  private static final class Call {
    final Tracing.ProviderCall span;
    Double ttftMs;
    long prompt = -1;
    long completion = -1;

    Call(Tracing.ProviderCall span) {
      this.span = span;
    }
  }

  private Value call(TaskContext ctx, HttpRequest req, String key, String model, long started, Call call) throws TaskFailure, Aborted, InterruptedException {
    HttpResponse<InputStream> res;
    try {
      res = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
    } catch (IOException e) {
      ctx.check();
      throw new TaskFailure("PROVIDER_UNAVAILABLE", "openai: " + redact(String.valueOf(e.getMessage()), key), true);
    }
    StringBuilder text = new StringBuilder();
    String answeredModel = model;
    String finish = null;
    Double ttftMs = null;
    boolean done = false;
    try (InputStream stream = res.body()) {
      ctx.onAbort(() -> {
        try {
          stream.close(); // unblocks the read below
        } catch (IOException ignored) {
          // closing anyway
        }
      });
      if (res.statusCode() != 200) throw httpFailure(res.statusCode(), new String(stream.readNBytes(65536), StandardCharsets.UTF_8), key);
      BufferedReader lines = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8));
      for (String line; !done && (line = lines.readLine()) != null; ) {
        ctx.check();
        if (!line.startsWith("data:")) continue;
        String data = line.substring(5).trim();
        if (data.equals("[DONE]")) {
          done = true;
          break;
        }
        JsonObject chunk;
        try {
          chunk = JsonParser.parseString(data).getAsJsonObject();
        } catch (RuntimeException e) {
          throw new TaskFailure("PROVIDER_ERROR", "openai: a stream event is not JSON", false);
        }
        if (chunk.has("error") && !chunk.get("error").isJsonNull()) {
          JsonElement err = chunk.get("error");
          String msg = err.isJsonObject() && err.getAsJsonObject().has("message") ? err.getAsJsonObject().get("message").getAsString() : err.toString();
          throw new TaskFailure("PROVIDER_ERROR", "openai: " + redact(msg, key), false);
        }
        if (chunk.has("model") && chunk.get("model").isJsonPrimitive()) answeredModel = chunk.get("model").getAsString();
        JsonElement u = chunk.get("usage");
        if (u != null && u.isJsonObject() && u.getAsJsonObject().has("prompt_tokens")) {
          JsonObject uo = u.getAsJsonObject();
          long prompt = uo.get("prompt_tokens").getAsLong();
          long completion = uo.has("completion_tokens") ? uo.get("completion_tokens").getAsLong() : 0;
          ctx.usage(prompt, completion, uo.has("total_tokens") ? uo.get("total_tokens").getAsLong() : prompt + completion);
          call.prompt = prompt;
          call.completion = completion;
        }
        JsonElement choices = chunk.get("choices");
        if (choices == null || !choices.isJsonArray()) continue;
        for (JsonElement ce : choices.getAsJsonArray()) {
          JsonObject choice = ce.getAsJsonObject();
          if (choice.has("index") && choice.get("index").getAsInt() != 0) continue;
          JsonElement delta = choice.get("delta");
          if (delta != null && delta.isJsonObject() && delta.getAsJsonObject().has("content") && delta.getAsJsonObject().get("content").isJsonPrimitive()) {
            String t = delta.getAsJsonObject().get("content").getAsString();
            if (!t.isEmpty()) {
              if (ttftMs == null) {
                ttftMs = Math.round((System.nanoTime() - started) / 100_000.0) / 10.0;
                call.span.firstToken();
              }
              call.ttftMs = ttftMs;
              text.append(t);
              ctx.emit(t);
            }
          }
          if (choice.has("finish_reason") && !choice.get("finish_reason").isJsonNull()) {
            finish = choice.get("finish_reason").getAsString().toLowerCase();
            if (finish.equals("content_filter")) {
              throw new TaskFailure("SAFETY_BLOCKED", "openai withheld the answer (finish_reason content_filter)", false);
            }
          }
        }
      }
    } catch (IOException e) {
      ctx.check();
      throw new TaskFailure("PROVIDER_UNAVAILABLE", "openai: stream broken: " + redact(String.valueOf(e.getMessage()), key), true);
    }
    ctx.check();
    if (!done && finish == null) throw new TaskFailure("PROVIDER_UNAVAILABLE", "openai: the stream ended early", true);
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("text", text.toString());
    out.put("model", answeredModel);
    out.put("provider", "openai");
    out.put("finish_reason", finish == null ? "stop" : finish);
    if (ttftMs != null) out.put("ttft_ms", ttftMs);
    Value.Builder v = Value.newBuilder();
    try {
      JsonFormat.parser().merge(GSON.toJson(out), v);
    } catch (InvalidProtocolBufferException e) {
      throw new TaskFailure("INTERNAL", "output: " + e.getMessage(), true);
    }
    return v.build();
  }
}
