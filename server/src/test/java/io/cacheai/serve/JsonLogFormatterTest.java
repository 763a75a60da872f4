package io.cacheai.serve;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Context;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;

class JsonLogFormatterTest {
  private final JsonLogFormatter formatter = new JsonLogFormatter();

  @Test
  void format_specialCharacters_escapedOnOneLine() {
    LogRecord record = new LogRecord(Level.WARNING, "say \"hi\"\\\n\tnow\u0001");
    record.setLoggerName("io.cacheai.test");
    record.setMillis(0);
    String line = formatter.format(record);
    assertThat(line)
        .startsWith("{\"ts\":\"1970-01-01T00:00:00Z\",\"level\":\"WARNING\",")
        .contains("\"logger\":\"io.cacheai.test\"")
        .contains("\"message\":\"say \\\"hi\\\"\\\\\\n\\tnow\\u0001\"")
        .doesNotContain("request_id")
        .endsWith("}\n");
    assertThat(line.indexOf('\n')).isEqualTo(line.length() - 1);
  }

  @Test
  void format_insideARequest_carriesItsId() throws Exception {
    LogRecord record = new LogRecord(Level.INFO, "m");
    record.setThrown(new IllegalStateException("boom"));
    Context withId = Context.current().withValue(RequestIds.key(), "req-7");
    String line = withId.call(() -> formatter.format(record));
    assertThat(line)
        .contains("\"request_id\":\"req-7\"")
        .contains("\"error\":\"java.lang.IllegalStateException: boom\\n");
  }

  @Test
  void usable_rejectsUnsafeIds() {
    assertThat(RequestIds.usable("abc-123")).isTrue();
    assertThat(RequestIds.usable("")).isFalse();
    assertThat(RequestIds.usable("a\"b")).isFalse();
    assertThat(RequestIds.usable("a b")).isFalse();
    assertThat(RequestIds.usable("x".repeat(RequestIds.MAX_LENGTH + 1))).isFalse();
  }
}
