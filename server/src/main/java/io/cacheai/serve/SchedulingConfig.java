package io.cacheai.serve;

import java.util.Properties;
import java.util.Set;

/**
 * How requests to one model are scheduled: dynamic batching, the bounded queue in front of it, and
 * the per-model limits. Read from the same {@code config.properties} as {@link ModelConfig}, whose
 * part it is; every key is optional.
 *
 * <table>
 *   <caption>Keys</caption>
 *   <tr><th>key</th><th>default</th><th>meaning</th></tr>
 *   <tr><td>{@code dynamic_batching}</td><td>false</td><td>merge concurrent requests into one
 *       execution (needs {@code max_batch_size} &gt; 0 and a model whose inputs and outputs all
 *       have a dynamic first dimension; otherwise requests run one by one)</td></tr>
 *   <tr><td>{@code max_queue_delay_us}</td><td>100</td><td>how long the first request of a batch
 *       waits for others, microseconds</td></tr>
 *   <tr><td>{@code max_queue_size}</td><td>128</td><td>requests waiting for a batch; one more is
 *       refused at once with RESOURCE_EXHAUSTED</td></tr>
 *   <tr><td>{@code batch_threads}</td><td>1</td><td>batches of this model running at once (one
 *       thread each: on a small machine one busy thread per model serves best)</td></tr>
 *   <tr><td>{@code max_concurrent_requests}</td><td>0</td><td>requests of this model accepted at
 *       once (waiting or running); one more is RESOURCE_EXHAUSTED. 0: no limit</td></tr>
 *   <tr><td>{@code request_timeout_ms}</td><td>0</td><td>the longest a request may wait before its
 *       execution starts (queue and batching delay); past it, DEADLINE_EXCEEDED without running.
 *       The client's own gRPC deadline applies too, whichever is sooner. 0: none</td></tr>
 * </table>
 */
public record SchedulingConfig(
    boolean dynamicBatching,
    long maxQueueDelayUs,
    int maxQueueSize,
    int batchThreads,
    int maxConcurrentRequests,
    long requestTimeoutMs) {
  public static final String DYNAMIC_BATCHING = "dynamic_batching";
  public static final String MAX_QUEUE_DELAY_US = "max_queue_delay_us";
  public static final String MAX_QUEUE_SIZE = "max_queue_size";
  public static final String BATCH_THREADS = "batch_threads";
  public static final String MAX_CONCURRENT_REQUESTS = "max_concurrent_requests";
  public static final String REQUEST_TIMEOUT_MS = "request_timeout_ms";

  /** The keys this record reads. */
  static final Set<String> KEYS =
      Set.of(
          DYNAMIC_BATCHING,
          MAX_QUEUE_DELAY_US,
          MAX_QUEUE_SIZE,
          BATCH_THREADS,
          MAX_CONCURRENT_REQUESTS,
          REQUEST_TIMEOUT_MS);

  /** No batching, no limits. */
  public static final SchedulingConfig DEFAULT = new SchedulingConfig(false, 100, 128, 1, 0, 0);

  /** The longest batching delay accepted: 1 s. */
  static final long MAX_DELAY_US = 1_000_000;

  public SchedulingConfig {
    check(MAX_QUEUE_DELAY_US, maxQueueDelayUs, 0, MAX_DELAY_US);
    check(MAX_QUEUE_SIZE, maxQueueSize, 1, 1 << 20);
    check(BATCH_THREADS, batchThreads, 1, 64);
    check(MAX_CONCURRENT_REQUESTS, maxConcurrentRequests, 0, Integer.MAX_VALUE);
    check(REQUEST_TIMEOUT_MS, requestTimeoutMs, 0, Long.MAX_VALUE / 1_000_000);
  }

  /** The defaults with dynamic batching on, {@code delayUs} and {@code queueSize}; for tests. */
  public static SchedulingConfig batching(long delayUs, int queueSize) {
    return new SchedulingConfig(true, delayUs, queueSize, 1, 0, 0);
  }

  /** Whether requests of the model are limited in number. */
  public boolean limitsConcurrency() {
    return maxConcurrentRequests > 0;
  }

  /**
   * Reads the keys of this record from {@code properties}; {@code source} names them in errors.
   * {@code maxBatchSize} is the model's already-read limit: batching needs one.
   */
  static SchedulingConfig parse(Properties properties, String source, int maxBatchSize) {
    SchedulingConfig d = DEFAULT;
    boolean batching = d.dynamicBatching;
    String flag = properties.getProperty(DYNAMIC_BATCHING);
    if (flag != null) {
      String value = flag.trim();
      if (!value.equals("true") && !value.equals("false")) {
        throw new IllegalArgumentException(
            source + ": " + DYNAMIC_BATCHING + "=" + flag + " is not one of [true, false]");
      }
      batching = value.equals("true");
    }
    if (batching && maxBatchSize <= 0) {
      throw new IllegalArgumentException(
          source
              + ": "
              + DYNAMIC_BATCHING
              + "=true needs "
              + ModelConfig.MAX_BATCH_SIZE
              + " > 0 (the largest merged batch)");
    }
    try {
      return new SchedulingConfig(
          batching,
          number(properties, source, MAX_QUEUE_DELAY_US, d.maxQueueDelayUs),
          intNumber(properties, source, MAX_QUEUE_SIZE, d.maxQueueSize),
          intNumber(properties, source, BATCH_THREADS, d.batchThreads),
          intNumber(properties, source, MAX_CONCURRENT_REQUESTS, d.maxConcurrentRequests),
          number(properties, source, REQUEST_TIMEOUT_MS, d.requestTimeoutMs));
    } catch (IllegalArgumentException e) {
      throw e.getMessage().startsWith(source)
          ? e
          : new IllegalArgumentException(source + ": " + e.getMessage(), e);
    }
  }

  private static long number(Properties properties, String source, String key, long fallback) {
    String value = properties.getProperty(key);
    if (value == null) {
      return fallback;
    }
    try {
      return Long.parseLong(value.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          source + ": " + key + "=" + value + " is not an integer", e);
    }
  }

  private static int intNumber(Properties properties, String source, String key, int fallback) {
    long value = number(properties, source, key, fallback);
    if (value < Integer.MIN_VALUE || value > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          source + ": " + key + "=" + value + " does not fit a 32-bit integer");
    }
    return (int) value;
  }

  private static void check(String key, long value, long min, long max) {
    if (value < min || value > max) {
      throw new IllegalArgumentException(
          key + "=" + value + " must be in [" + min + "," + max + "]");
    }
  }
}
