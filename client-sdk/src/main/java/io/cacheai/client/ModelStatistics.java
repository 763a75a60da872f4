package io.cacheai.client;

import java.util.List;

/**
 * The cumulative statistics of one model version (Triton's ModelStatistics), since it was loaded.
 *
 * @param lastInferenceMs when the last request arrived, milliseconds since the epoch (0: none)
 * @param inferenceCount inferences done: the sum of the batch dimensions of successful requests
 * @param executionCount model executions; fewer than requests when the server merged them
 * @param success requests answered, with their total time from arrival to answer
 * @param fail requests that failed after the model was found
 * @param queue time requests waited before their execution started
 * @param computeInput input preparation time of the executions the requests ran in
 * @param computeInfer model time of the executions the requests ran in
 * @param computeOutput output time of the executions the requests ran in
 * @param cacheHit response-cache hits
 * @param cacheMiss response-cache misses
 * @param batchStats one entry per executed batch size, ascending
 */
public record ModelStatistics(
    String name,
    String version,
    long lastInferenceMs,
    long inferenceCount,
    long executionCount,
    Duration success,
    Duration fail,
    Duration queue,
    Duration computeInput,
    Duration computeInfer,
    Duration computeOutput,
    Duration cacheHit,
    Duration cacheMiss,
    List<Batch> batchStats) {
  /** A count of occurrences and their total duration in nanoseconds. */
  public record Duration(long count, long ns) {
    /** The mean duration in microseconds; 0 when nothing happened. */
    public double meanUs() {
      return count == 0 ? 0 : ns / 1000.0 / count;
    }
  }

  /** The executions of one batch size and their phase durations (each count = executions). */
  public record Batch(
      long batchSize, Duration computeInput, Duration computeInfer, Duration computeOutput) {}

  public ModelStatistics {
    batchStats = List.copyOf(batchStats);
  }

  /** The largest batch size executed, 0 when none. */
  public long largestBatch() {
    return batchStats.stream().mapToLong(Batch::batchSize).max().orElse(0);
  }
}
