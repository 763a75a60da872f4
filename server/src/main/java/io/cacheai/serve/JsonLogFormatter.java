package io.cacheai.serve;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.util.logging.Formatter;
import java.util.logging.LogRecord;

/**
 * java.util.logging records as JSON lines, one object per line, for log collectors (Kubernetes
 * sends container stderr to them line by line):
 *
 * <pre>
 * {"ts":"2026-11-29T03:40:00.123Z","level":"WARNING","logger":"io.cacheai.serve.InferenceService",
 *  "thread":"grpc-default-executor-0","message":"...","request_id":"4f1c...","error":"java.lang...."}
 * </pre>
 *
 * {@code request_id} is present when the record was logged while serving a request ({@link
 * RequestIds#current()} on the logging thread; {@link java.util.logging.ConsoleHandler} formats on
 * that thread). {@code error} holds the stack trace of an attached throwable. JUL's own levels are
 * kept (SEVERE, WARNING, INFO, FINE, ...). No dependency: the JSON is written here.
 */
public final class JsonLogFormatter extends Formatter {
  @Override
  public String format(LogRecord record) {
    StringBuilder json = new StringBuilder(256);
    json.append("{\"ts\":\"").append(Instant.ofEpochMilli(record.getMillis())).append('"');
    field(json, "level", record.getLevel().getName());
    field(json, "logger", record.getLoggerName());
    if (record.getLongThreadID() == Thread.currentThread().getId()) {
      field(json, "thread", Thread.currentThread().getName());
    }
    field(json, "message", formatMessage(record));
    field(json, "request_id", RequestIds.current());
    if (record.getThrown() != null) {
      StringWriter trace = new StringWriter();
      record.getThrown().printStackTrace(new PrintWriter(trace));
      field(json, "error", trace.toString());
    }
    return json.append("}\n").toString();
  }

  private static void field(StringBuilder json, String name, String value) {
    if (value == null) {
      return;
    }
    json.append(",\"").append(name).append("\":\"");
    escape(json, value);
    json.append('"');
  }

  /** JSON string escaping (RFC 8259): quote, backslash and every control character. */
  static void escape(StringBuilder json, String value) {
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      switch (c) {
        case '"' -> json.append("\\\"");
        case '\\' -> json.append("\\\\");
        case '\n' -> json.append("\\n");
        case '\r' -> json.append("\\r");
        case '\t' -> json.append("\\t");
        default -> {
          if (c < 0x20) {
            json.append(String.format("\\u%04x", (int) c));
          } else {
            json.append(c);
          }
        }
      }
    }
  }
}
