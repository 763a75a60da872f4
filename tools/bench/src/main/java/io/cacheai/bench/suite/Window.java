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
 * @param cpuNs CPU time spent in the window: the calling thread's for in-process calls (ORT and
 *     OpenBLAS both run a request on the caller's thread with one intra-op thread), the whole
 *     process's for the gRPC loads (client and server share the JVM); -1 when unknown. On a shared
 *     machine it measures the work rather than the neighbours.
 */
public record Window(long[] latenciesNs, long items, long elapsedNs, long errors, long cpuNs) {
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

  /** CPU time per completed call in µs, NaN when unknown. */
  public double cpuUsPerCall() {
    return cpuNs < 0 || latenciesNs.length == 0 ? Double.NaN : cpuNs / 1e3 / latenciesNs.length;
  }

  /** Items per second over the window. */
  public double itemsPerSecond() {
    return elapsedNs == 0 ? 0 : items * 1e9 / elapsedNs;
  }
}
