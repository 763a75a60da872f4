package io.cacheai.serve;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;

/**
 * The per-model settings read from {@code <repository>/<model>/config.properties} (Java properties
 * syntax, {@code #} comments). Every version of the model shares them. The file is optional; an
 * absent file means the defaults below.
 *
 * <p>Accepted keys, and only these (an unknown key is an error at load, so that a typo does not
 * silently fall back to a default):
 *
 * <ul>
 *   <li>{@code max_batch_size} — integer ≥ 0; the largest value a request may give for a dynamic
 *       first (batch) dimension of any input. 0, the default, means no limit beyond the message
 *       size.
 *   <li>{@code platform} — the platform the operator expects the loaded model to report (for
 *       example {@code onnx_fp32}); when given and the loaded model reports another, that version
 *       is not served. When absent, whatever the model reports is served.
 *   <li>{@code response_cache} — {@code true} or {@code false} (default); whether this model's
 *       answers are kept in the server's exact response cache (sized by {@code serve
 *       --response-cache-mib}, off when 0). Only for deterministic models: a hit returns the stored
 *       answer without running the model.
 * </ul>
 */
public record ModelConfig(int maxBatchSize, Optional<String> platform, boolean responseCache) {
  /** The name of the optional per-model file inside the model's directory. */
  public static final String FILE_NAME = "config.properties";

  public static final String MAX_BATCH_SIZE = "max_batch_size";
  public static final String PLATFORM = "platform";
  public static final String RESPONSE_CACHE = "response_cache";
  private static final Set<String> KEYS = Set.of(MAX_BATCH_SIZE, PLATFORM, RESPONSE_CACHE);

  /** No limit, no platform expectation, no response cache. */
  public static final ModelConfig DEFAULT = new ModelConfig(0, Optional.empty());

  /** Without the response cache. */
  public ModelConfig(int maxBatchSize, Optional<String> platform) {
    this(maxBatchSize, platform, false);
  }

  public ModelConfig {
    if (maxBatchSize < 0) {
      throw new IllegalArgumentException(MAX_BATCH_SIZE + "=" + maxBatchSize + " must be >= 0");
    }
  }

  /** Whether requests are limited in their batch dimension. */
  public boolean limitsBatch() {
    return maxBatchSize > 0;
  }

  /**
   * Reads the config of the model directory {@code modelDir}: the defaults when it has no {@value
   * #FILE_NAME}, otherwise the file's values.
   *
   * @throws IllegalArgumentException naming the file, the key and the accepted keys or values
   */
  public static ModelConfig read(Path modelDir) throws IOException {
    Path file = modelDir.resolve(FILE_NAME);
    if (!Files.isRegularFile(file)) {
      return DEFAULT;
    }
    Properties properties = new Properties();
    try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      properties.load(reader);
    }
    return parse(properties, file.toString());
  }

  /** Parses already-read properties; {@code source} names them in error messages. */
  public static ModelConfig parse(Properties properties, String source) {
    Set<String> unknown = new TreeSet<>(properties.stringPropertyNames());
    unknown.removeAll(KEYS);
    if (!unknown.isEmpty()) {
      throw new IllegalArgumentException(
          source + ": unknown key(s) " + unknown + "; accepted keys: " + new TreeSet<>(KEYS));
    }
    int maxBatchSize = 0;
    String batch = properties.getProperty(MAX_BATCH_SIZE);
    if (batch != null) {
      try {
        maxBatchSize = Integer.parseInt(batch.trim());
      } catch (NumberFormatException e) {
        maxBatchSize = -1;
      }
      if (maxBatchSize < 0) {
        throw new IllegalArgumentException(
            source + ": " + MAX_BATCH_SIZE + "=" + batch + " is not an integer >= 0");
      }
    }
    String platform = properties.getProperty(PLATFORM);
    if (platform != null && platform.isBlank()) {
      throw new IllegalArgumentException(source + ": " + PLATFORM + " is empty");
    }
    String cache = properties.getProperty(RESPONSE_CACHE, "false").trim();
    if (!cache.equals("true") && !cache.equals("false")) {
      throw new IllegalArgumentException(
          source + ": " + RESPONSE_CACHE + "=" + cache + " must be true or false");
    }
    return new ModelConfig(
        maxBatchSize, Optional.ofNullable(platform).map(String::trim), cache.equals("true"));
  }
}
