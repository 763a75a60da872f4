package io.cacheai.cli;

import io.cacheai.serve.JsonLogFormatter;
import java.util.Locale;
import java.util.logging.ConsoleHandler;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;

/**
 * Process-wide java.util.logging setup for {@code serve}: one handler on stderr, JSON lines ({@link
 * JsonLogFormatter}) or JUL's plain text, at one level for cacheai's own loggers. Libraries (gRPC,
 * Netty) stay at INFO or above whatever the level, so FINE shows cacheai's per-request lines, not
 * transport chatter.
 */
final class LogSetup {
  /** A parsed {@code --log-format} / {@code --log-level} pair. */
  record Settings(boolean json, Level level) {}

  /** Held strongly: JUL keeps loggers weakly, and a collected logger loses its level. */
  private static final Logger CACHEAI = Logger.getLogger("io.cacheai");

  private LogSetup() {}

  static Settings parse(String format, String level) {
    boolean json =
        switch (format.toLowerCase(Locale.ROOT)) {
          case "json" -> true;
          case "text" -> false;
          default ->
              throw new IllegalArgumentException(
                  "--log-format=" + format + " must be one of json, text");
        };
    Level parsed;
    try {
      parsed = Level.parse(level.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "--log-level=" + level + " must be one of SEVERE, WARNING, INFO, FINE, FINER, ALL, OFF");
    }
    return new Settings(json, parsed);
  }

  static void install(Settings settings) {
    Logger root = Logger.getLogger("");
    for (Handler handler : root.getHandlers()) {
      root.removeHandler(handler);
    }
    ConsoleHandler stderr = new ConsoleHandler();
    stderr.setFormatter(settings.json() ? new JsonLogFormatter() : new SimpleFormatter());
    stderr.setLevel(settings.level());
    root.addHandler(stderr);
    root.setLevel(
        settings.level().intValue() < Level.INFO.intValue() ? Level.INFO : settings.level());
    CACHEAI.setLevel(settings.level());
  }
}
