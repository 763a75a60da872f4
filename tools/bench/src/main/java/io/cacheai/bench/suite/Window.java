package io.cacheai.bench.suite;

import java.util.Arrays;

/**
 * One measurement window: the latency of every call that completed in it, how many items (images,
 * text lines) those calls carried, and how long the window lasted.
 *
 * @param latenciesNs one entry per completed call, in completion order
 * @param items calls × batch size
 * @param elapsedNs wall-clock length of the window
 * @param errors calls that failed in the window
 */
public record Window(long[] latenciesNs, long items, long elapsedNs, long errors) {
  /** The {@code q}-quantile (0..1) of the window's latencies in µs, by nearest rank. */
  public double percentileUs(double q) {
    if (latenciesNs.length == 0) {
      return Double.NaN;
    }
    long[] sorted = latenciesNs.clone();
    Arrays.sort(sorted);
    int rank = (int) Math.ceil(q * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank))] / 1e3;
  }

  /** Items per second over the window. */
  public double itemsPerSecond() {
    return elapsedNs == 0 ? 0 : items * 1e9 / elapsedNs;
  }
}
