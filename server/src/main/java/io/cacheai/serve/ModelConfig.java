package io.cacheai.serve;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
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
 *   <li>the scheduling keys of {@link SchedulingConfig}: {@code dynamic_batching}, {@code
 *       max_queue_delay_us}, {@code max_queue_size}, {@code batch_threads}, {@code
 *       max_concurrent_requests}, {@code request_timeout_ms}.
 *   <li>{@code kind} — what the directory serves: {@code onnx} (the default, the model as it is) or
 *       a task around it such as {@code ocr_recognizer}; see {@link ModelKind}, which lists the
 *       further keys each kind requires or accepts (a key of another kind is an error).
 * </ul>
 */
public record ModelConfig(
    int maxBatchSize,
    Optional<String> platform,
    SchedulingConfig scheduling,
    ModelKind kind,
    Map<String, String> kindSettings) {
  /** The name of the optional per-model file inside the model's directory. */
  public static final String FILE_NAME = "config.properties";

  public static final String MAX_BATCH_SIZE = "max_batch_size";
  public static final String PLATFORM = "platform";
  public static final String KIND = "kind";
  private static final Set<String> KEYS = keys();

  /** No limit, no platform expectation, the ONNX model as it is. */
  public static final ModelConfig DEFAULT = new ModelConfig(0, Optional.empty());

  public ModelConfig {
    if (maxBatchSize < 0) {
      throw new IllegalArgumentException(MAX_BATCH_SIZE + "=" + maxBatchSize + " must be >= 0");
    }
    Objects.requireNonNull(scheduling, "scheduling");
    if (scheduling.dynamicBatching() && maxBatchSize == 0) {
      throw new IllegalArgumentException(
          SchedulingConfig.DYNAMIC_BATCHING + "=true needs " + MAX_BATCH_SIZE + " > 0");
    }
    Objects.requireNonNull(kind, KIND);
    kindSettings = Map.copyOf(kindSettings);
  }

  /** A config of kind {@code onnx} with the default scheduling: requests one by one, no limits. */
  public ModelConfig(int maxBatchSize, Optional<String> platform) {
    this(maxBatchSize, platform, SchedulingConfig.DEFAULT);
  }

  /** A config of kind {@code onnx} with the given scheduling. */
  public ModelConfig(int maxBatchSize, Optional<String> platform, SchedulingConfig scheduling) {
    this(maxBatchSize, platform, scheduling, ModelKind.ONNX, Map.of());
  }

  private static Set<String> keys() {
    Set<String> keys = new TreeSet<>(SchedulingConfig.KEYS);
    keys.add(MAX_BATCH_SIZE);
    keys.add(PLATFORM);
    keys.add(KIND);
    return Set.copyOf(keys);
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
    unknown.removeAll(ModelKind.allKindKeys());
    if (!unknown.isEmpty()) {
      Set<String> accepted = new TreeSet<>(KEYS);
      accepted.addAll(ModelKind.allKindKeys());
      throw new IllegalArgumentException(
          source + ": unknown key(s) " + unknown + "; accepted keys: " + accepted);
    }
    ModelKind kind = ModelKind.ONNX;
    String kindName = properties.getProperty(KIND);
    if (kindName != null) {
      kind =
          ModelKind.fromConfigName(kindName.trim())
              .orElseThrow(
                  () ->
                      new IllegalArgumentException(
                          source
                              + ": "
                              + KIND
                              + "="
                              + kindName
                              + " is not one of "
                              + Arrays.stream(ModelKind.values())
                                  .map(ModelKind::configName)
                                  .toList()));
    }
    Map<String, String> kindSettings = new TreeMap<>();
    for (String key : ModelKind.allKindKeys()) {
      String value = properties.getProperty(key);
      if (value == null) {
        continue;
      }
      if (!kind.requiredKeys().contains(key) && !kind.optionalKeys().contains(key)) {
        throw new IllegalArgumentException(
            source + ": key " + key + " does not apply to " + KIND + "=" + kind.configName());
      }
      kindSettings.put(key, value.trim());
    }
    for (String key : kind.requiredKeys()) {
      if (!kindSettings.containsKey(key) || kindSettings.get(key).isEmpty()) {
        throw new IllegalArgumentException(
            source + ": " + KIND + "=" + kind.configName() + " needs key " + key);
      }
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
    return new ModelConfig(
        maxBatchSize,
        Optional.ofNullable(platform).map(String::trim),
        SchedulingConfig.parse(properties, source, maxBatchSize),
        kind,
        kindSettings);
  }
}
