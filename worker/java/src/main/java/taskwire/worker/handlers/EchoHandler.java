package taskwire.worker.handlers;

import com.google.protobuf.Value;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import taskwire.worker.Aborted;
import taskwire.worker.TaskContext;
import taskwire.worker.TaskFailure;
import taskwire.worker.TaskHandler;
import taskwire.worker.Values;

/** `echo`: streams the text word by word (PROTOCOL.md section 7.4). */
public final class EchoHandler implements TaskHandler {
  private static final Pattern WORDS = Pattern.compile("\\S+\\s*|\\s+");

  @Override
  public String kind() {
    return "echo";
  }

  @Override
  public Value run(TaskContext ctx, Value input) throws TaskFailure, Aborted {
    Map<String, Value> m = Values.object(input, "", "text", "delay_ms");
    if (!m.containsKey("text")) throw TaskFailure.badInput(".text: required");
    String text = Values.string(m.get("text"), ".text", 1024 * 1024);
    long delay = m.containsKey("delay_ms") ? Values.integer(m.get("delay_ms"), ".delay_ms", 0, 10000) : 0;
    Matcher words = WORDS.matcher(text);
    for (int i = 0; words.find(); i++) {
      if (i > 0 && delay > 0) ctx.waitMs(delay);
      ctx.emit(words.group());
    }
    return Values.obj(Map.of("text", Values.str(text)));
  }
}
