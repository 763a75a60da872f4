package io.cacheai.bench.suite;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Repeated measurement windows until the figures settle, the way Triton's perf_analyzer decides:
 * after a warm-up, windows of a fixed length are measured one after another, and the set counts as
 * <em>stable</em> when the last three windows' p50 latency and throughput each lie within {@code
 * spread} (10 %) of one another (max / min ≤ 1 + spread). The reported figures are the medians of
 * those three windows' p50, p99 and throughput. When {@code maxWindows} pass without three such
 * windows, the last three are reported and flagged as not stable — a figure from a noisy machine is
 * still printed, but never silently.
 */
public final class WindowedMeasurement {
  /** Measures one window of at least {@code durationMs}. */
  @FunctionalInterface
  public interface Load {
    Window run(long durationMs) throws Exception;
  }

  /**
   * @param warmupMs time spent on calls whose latency is discarded (JIT, caches, page faults)
   * @param windowMs length of each measured window
   * @param minWindows windows measured at least (≥ 3)
   * @param maxWindows windows measured at most
   * @param spread tolerated relative difference within the last three windows (0.10)
   */
  public record Settings(
      long warmupMs, long windowMs, int minWindows, int maxWindows, double spread) {
    public Settings {
      if (warmupMs < 0
          || windowMs <= 0
          || minWindows < 3
          || maxWindows < minWindows
          || spread <= 0) {
        throw new IllegalArgumentException(
            "warmupMs="
                + warmupMs
                + " windowMs="
                + windowMs
                + " minWindows="
                + minWindows
                + " maxWindows="
                + maxWindows
                + " spread="
                + spread
                + " (need warmupMs >= 0, windowMs > 0, 3 <= minWindows <= maxWindows, spread > 0)");
      }
    }
  }

  /**
   * The settled figures.
   *
   * @param p50Us median of the last three windows' p50 latency
   * @param p99Us median of the last three windows' p99 latency
   * @param itemsPerSecond median of the last three windows' throughput
   * @param windows windows measured (warm-up excluded)
   * @param stable whether the last three windows lie within the spread
   * @param spreadPct the largest relative difference among the last three windows, in percent
   * @param calls calls measured in all windows
   * @param errors failed calls in all windows
   * @param cpuUsPerCall median of the last three windows' CPU time per call (NaN when unknown)
   */
  public record Result(
      double p50Us,
      double p99Us,
      double itemsPerSecond,
      int windows,
      boolean stable,
      double spreadPct,
      long calls,
      long errors,
      double cpuUsPerCall) {}

  private static final java.lang.management.ThreadMXBean THREADS =
      java.lang.management.ManagementFactory.getThreadMXBean();

  private WindowedMeasurement() {}

  public static Result measure(Settings settings, Load load) throws Exception {
    if (settings.warmupMs() > 0) {
      load.run(settings.warmupMs());
    }
    List<Window> windows = new ArrayList<>();
    double spread = Double.NaN;
    boolean stable = false;
    while (windows.size() < settings.maxWindows()) {
      windows.add(load.run(settings.windowMs()));
      if (windows.size() >= 3) {
        spread = spread(windows.subList(windows.size() - 3, windows.size()));
        stable = spread <= settings.spread();
        if (stable && windows.size() >= settings.minWindows()) {
          break;
        }
      }
    }
    List<Window> last = windows.subList(windows.size() - 3, windows.size());
    long calls = 0;
    long errors = 0;
    for (Window w : windows) {
      calls += w.latenciesNs().length;
      errors += w.errors();
    }
    return new Result(
        median(last.stream().mapToDouble(w -> w.percentileUs(0.50)).toArray()),
        median(last.stream().mapToDouble(w -> w.percentileUs(0.99)).toArray()),
        median(last.stream().mapToDouble(Window::itemsPerSecond).toArray()),
        windows.size(),
        stable,
        100 * spread,
        calls,
        errors,
        median(last.stream().mapToDouble(Window::cpuUsPerCall).toArray()));
  }

  /** The larger of the p50 and throughput spreads (max / min − 1) over {@code windows}. */
  static double spread(List<Window> windows) {
    return Math.max(
        relativeSpread(windows.stream().mapToDouble(w -> w.percentileUs(0.50)).toArray()),
        relativeSpread(windows.stream().mapToDouble(Window::itemsPerSecond).toArray()));
  }

  static double relativeSpread(double[] values) {
    double min = Arrays.stream(values).min().orElse(0);
    double max = Arrays.stream(values).max().orElse(0);
    return min > 0 ? max / min - 1 : Double.POSITIVE_INFINITY;
  }

  static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }

  /**
   * A load of back-to-back calls on the calling thread: each window runs {@code call} until the
   * window's time is up, at least {@code minCalls} times, each call carrying {@code batch} items.
   */
  public static Load sequential(Runnable call, int batch, int minCalls) {
    return durationMs -> {
      long durationNs = durationMs * 1_000_000L;
      long[] latencies = new long[64];
      int n = 0;
      long cpuStart = THREADS.getCurrentThreadCpuTime();
      long start = System.nanoTime();
      long now = start;
      while (n < minCalls || now - start < durationNs) {
        long t0 = System.nanoTime();
        call.run();
        now = System.nanoTime();
        if (n == latencies.length) {
          latencies = Arrays.copyOf(latencies, 2 * n);
        }
        latencies[n++] = now - t0;
      }
      long cpuNs = THREADS.getCurrentThreadCpuTime() - cpuStart;
      return new Window(Arrays.copyOf(latencies, n), (long) n * batch, now - start, 0, cpuNs);
    };
  }
}
